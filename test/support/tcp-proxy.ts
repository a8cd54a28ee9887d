import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real server (Redis), so a test can make it unreachable or
 * stalled for one app without touching the server that other tests share.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private stalled = false;
  private readonly held: [Socket, Buffer][] = [];
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      // While stalled, bytes are held back (as a hung server would), not lost: TCP never drops them.
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (d: Buffer) => {
          if (this.stalled) this.held.push([to, d]);
          else to.write(d);
        });
      forward(client, upstream);
      forward(upstream, client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  /** Bytes stop flowing; connections stay open (a hung server). */
  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    for (const [to, d] of this.held.splice(0)) if (!to.destroyed) to.write(d);
  }

  /** Refuses new connections and cuts the open ones (a server that went away). */
  async cut(): Promise<void> {
    this.held.length = 0;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    this.stalled = false;
    await this.start(this.port);
  }
}

export function redisTarget(): { host: string; port: number } {
  const url = new URL(process.env.REDIS_URL!);
  return { host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) };
}
