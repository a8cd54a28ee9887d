import type { PGlite } from '@electric-sql/pglite';

/**
 * pglite-socket (0.2.17, pinned) multiplexes many client connections onto PGlite's single session
 * one protocol message at a time. Outside a transaction it lets another connection's message in
 * between the Parse, Bind, Execute and Sync of one extended-protocol query, so concurrent queries
 * fail with "unnamed prepared statement does not exist" / "portal does not exist". This replaces
 * its queue's scheduler so that a connection keeps the session from its first extended-protocol
 * message to its Sync (and, as before, for the whole of a transaction). Covered by the concurrent
 * refresh test, which fails on the embedded database without it.
 */
interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(err: unknown): void;
  onData(data: Uint8Array): void;
}

interface SocketQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: PGlite;
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

/** Parse, Bind, Describe, Execute, Close, Flush: a batch is open until Sync. */
const EXTENDED = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48].map(Number));
const SYNC = 0x53;

export function patchSocketQueue(server: unknown): void {
  const q = (server as { queryQueue?: SocketQueue }).queryQueue;
  if (!q || typeof q.processQueue !== 'function') throw new Error('pglite-socket internals changed: review pglite-batch-queue.ts');
  let batchOpen = false;

  q.processQueue = async function processQueue(this: SocketQueue): Promise<void> {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        let index = 0;
        const owner = this.lastHandlerId;
        if (owner !== null && (batchOpen || this.db.isInTransaction())) {
          index = this.queue.findIndex((m) => m.handlerId === owner);
          if (index === -1) break;
        }
        const item = this.queue.splice(index, 1)[0];
        const type = item.message[0];
        if (EXTENDED.has(type)) batchOpen = true;
        else if (type === SYNC) batchOpen = false;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err) {
          item.reject(err);
          continue;
        } finally {
          this.lastHandlerId = item.handlerId;
        }
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }.bind(q);

  const clear = q.clearQueueForHandler.bind(q);
  q.clearQueueForHandler = (handlerId: number) => {
    if (q.lastHandlerId === handlerId) batchOpen = false;
    clear(handlerId);
  };
}
