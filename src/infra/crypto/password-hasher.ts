import { availableParallelism } from 'node:os';
import type { OnApplicationShutdown } from '@nestjs/common';
import { Algorithm } from '@node-rs/argon2';
import { HashingPool } from './hashing-pool.js';

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
 * Hashes on a small pool of low-priority worker threads (`HashingPool`): about one hash per core
 * at a time, the rest queued, so a login storm slows logins, not the verification of tokens that
 * shares the cores.
 */
export class Argon2PasswordHasher extends PasswordHasher implements OnApplicationShutdown {
  readonly pool = new HashingPool(Math.max(1, availableParallelism()), ARGON2_PARAMS);
  private readonly prefix = `$argon2id$v=19$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}$`;

  hash(password: string): Promise<string> {
    return this.pool.run<string>({ op: 'hash', password });
  }

  async verify(stored: string, password: string): Promise<boolean> {
    try {
      return await this.pool.run<boolean>({ op: 'verify', hash: stored, password });
    } catch {
      return false;
    }
  }

  needsRehash(stored: string): boolean {
    return !stored.startsWith(this.prefix);
  }

  onApplicationShutdown(): Promise<void> {
    return this.pool.close();
  }
}
