import { availableParallelism } from 'node:os';
import { Injectable, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { Algorithm } from '@node-rs/argon2';
import { AppConfig } from '../../config/config.schema.js';
import { DomainError } from '../errors/domain-error.js';
import { HttpErrors } from '../errors/http.errors.js';
import { Metrics } from '../metrics/metrics.js';
import { HashingPool, HashingTaskError } from './hashing-pool.js';

/** OWASP's first argon2id configuration: m=19 MiB, t=2, p=1. */
export const ARGON2_PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Port: hashing and checking passwords. */
export abstract class PasswordHasher {
  abstract hash(password: string): Promise<string>;
  abstract verify(hash: string, password: string): Promise<boolean>;
  /** True when a stored hash was made with other parameters than the current ones. */
  abstract needsRehash(hash: string): boolean;
}

/** Too many password checks are waiting for a hashing thread (or none can run now): shed, retry in a second. */
export class PasswordHashingBusy extends DomainError {
  constructor() {
    super(HttpErrors.PASSWORD_HASHING_BUSY, 'Too many sign-ins are being checked right now; retry shortly.');
  }
}

/**
 * Hashes on a small pool of low-priority worker threads (`HashingPool`): about one hash per core
 * at a time, the rest queued, so a login storm slows logins, not the verification of tokens that
 * shares the cores. Past PASSWORD_HASH_QUEUE_LIMIT waiting, a check fails at once with
 * PasswordHashingBusy (503, Retry-After), never with a wrong-password answer.
 */
@Injectable()
export class Argon2PasswordHasher extends PasswordHasher implements OnApplicationShutdown {
  readonly pool: HashingPool;

  constructor(config: AppConfig, @Optional() metrics?: Metrics) {
    super();
    this.pool = new HashingPool(Math.max(1, availableParallelism()), ARGON2_PARAMS, config.passwordHashQueueLimit);
    metrics?.watchHashQueue(() => this.pool.waiting);
  }

  private readonly prefix = `$argon2id$v=19$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}$`;

  hash(password: string): Promise<string> {
    return this.pool.run<string>({ op: 'hash', password }).catch(busy);
  }

  async verify(stored: string, password: string): Promise<boolean> {
    try {
      return await this.pool.run<boolean>({ op: 'verify', hash: stored, password });
    } catch (err) {
      if (err instanceof HashingTaskError) return false; // a malformed stored hash: no password matches it
      throw new PasswordHashingBusy(); // the queue is full, or the pool cannot hash now: never "wrong password"
    }
  }

  needsRehash(stored: string): boolean {
    return !stored.startsWith(this.prefix);
  }

  onApplicationShutdown(): Promise<void> {
    return this.pool.close();
  }
}

function busy(err: unknown): never {
  throw err instanceof HashingTaskError ? err : new PasswordHashingBusy();
}
