import { availableParallelism } from 'node:os';
import { Algorithm, hash, verify } from '@node-rs/argon2';

/** OWASP's first argon2id configuration: m=19 MiB, t=2, p=1. */
export const ARGON2_PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Port: hashing and checking passwords. */
export abstract class PasswordHasher {
  abstract hash(password: string): Promise<string>;
  abstract verify(hash: string, password: string): Promise<boolean>;
  /** True when a stored hash was made with other parameters than the current ones. */
  abstract needsRehash(hash: string): boolean;
}

/**
 * At most one hash per core runs at a time; the rest wait in line. A login storm then cannot take
 * every libuv thread from the token verification that shares them.
 */
class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export class Argon2PasswordHasher extends PasswordHasher {
  private readonly gate = new Gate(Math.max(1, availableParallelism()));
  private readonly prefix = `$argon2id$v=19$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}$`;

  hash(password: string): Promise<string> {
    return this.gate.run(() => hash(password, ARGON2_PARAMS));
  }

  async verify(stored: string, password: string): Promise<boolean> {
    try {
      return await this.gate.run(() => verify(stored, password));
    } catch {
      return false;
    }
  }

  needsRehash(stored: string): boolean {
    return !stored.startsWith(this.prefix);
  }
}
