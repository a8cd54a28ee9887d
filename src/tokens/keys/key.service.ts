import { type KeyObject, createPrivateKey, createPublicKey } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/config.schema.js';
import { KeyEncryption } from '../../infra/crypto/key-encryption.js';
import type { Tx } from '../../infra/database/database.js';
import { SIGNING_ALG, SigningKeyGenerator } from './signing-key.generator.js';
import { SigningKeyRepository, type SigningKeyRecord } from './signing-key.repository.js';

export { SIGNING_ALG };

interface CachedKey {
  kid: string;
  status: SigningKeyRecord['status'];
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
  privateKey?: KeyObject;
  /** Tokens signed by a retired key live at most one access-token lifetime after it was retired. */
  verifiesUntil: number;
}

/** How often every instance looks for a rotated or revoked key. */
const POLL_MS = 2000;

/**
 * Signing keys, held in memory by `kid`. One active key signs; it and every retired key that may
 * still have live tokens verify, and are published in the JWKS. Every instance polls the key table's
 * fingerprint, and looks again at once on an unknown `kid`, so a rotation on one instance reaches
 * the others without a restart.
 */
@Injectable()
export class KeyService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Keys');
  private keys = new Map<string, CachedKey>();
  private active?: CachedKey;
  private version = '';
  private timer?: NodeJS.Timeout;
  private lastOnDemand = 0;
  private refreshing?: Promise<void>;

  constructor(
    private readonly repo: SigningKeyRepository,
    private readonly encryption: KeyEncryption,
    private readonly generator: SigningKeyGenerator,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    if (!this.active) {
      if (await this.repo.activateFirst(this.generator.generate())) this.logger.log('generated the first signing key');
      await this.reload();
    }
    this.timer = setInterval(() => void this.refresh().catch((err: Error) => this.logger.warn(`key refresh failed: ${err.message}`)), POLL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The key that signs new tokens. */
  signingKey(): { kid: string; privateKey: KeyObject } {
    if (!this.active?.privateKey) throw new Error('no active signing key');
    return { kid: this.active.kid, privateKey: this.active.privateKey };
  }

  /** The public key for `kid` if it may still verify a live token; undefined otherwise. */
  verificationKey(kid: string): KeyObject | undefined {
    const key = this.keys.get(kid);
    if (!key || key.status === 'revoked' || key.verifiesUntil < Date.now()) return undefined;
    return key.publicKey;
  }

  /** True for a key revoked as compromised: it verifies nothing, and its tokens count as revoked. */
  isRevoked(kid: string): boolean {
    return this.keys.get(kid)?.status === 'revoked';
  }

  /** As verificationKey, but an unknown `kid` first triggers one reload (at most once a second). */
  async findVerificationKey(kid: string): Promise<KeyObject | undefined> {
    const found = this.verificationKey(kid);
    if (found || this.keys.has(kid) || Date.now() - this.lastOnDemand < 1000) return found;
    this.lastOnDemand = Date.now();
    await this.refresh(true);
    return this.verificationKey(kid);
  }

  /** RFC 7517 JWK Set of every key that may verify a live token. */
  jwks(): { keys: Record<string, unknown>[] } {
    const now = Date.now();
    return {
      keys: [...this.keys.values()]
        .filter((k) => k.status !== 'revoked' && k.verifiesUntil >= now)
        .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: SIGNING_ALG, use: 'sig' })),
    };
  }

  /** Every key, newest first, without private parts (the console's key list). */
  async list(): Promise<{ kid: string; alg: string; status: string; createdAt: Date; retiredAt: Date | null }[]> {
    return (await this.repo.listRelevant(new Date(0))).map((k) => ({ kid: k.kid, alg: k.alg, status: k.status, createdAt: k.createdAt, retiredAt: k.retiredAt }));
  }

  /**
   * A new active key; the old one keeps verifying until its last token expires. `alsoInTx` (an
   * audit row, say) commits in the rotation's own transaction, or the rotation does not happen.
   */
  async rotate(alsoInTx?: (tx: Tx, kid: string) => Promise<void>): Promise<string> {
    const key = this.generator.generate();
    await this.repo.activate(key, alsoInTx && ((tx) => alsoInTx(tx, key.kid)));
    await this.reload();
    this.logger.log(`rotated signing keys: ${key.kid} is active`);
    return key.kid;
  }

  /** Re-reads the keys when their fingerprint changed (or always, when forced). */
  async refresh(force = false): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const version = await this.repo.version();
        if (force || version !== this.version) await this.reload(version);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async reload(version?: string): Promise<void> {
    const ttlMs = this.config.accessTokenTtl * 1000;
    const v = version ?? (await this.repo.version());
    const records = await this.repo.listRelevant(new Date(Date.now() - ttlMs));
    const keys = new Map<string, CachedKey>();
    let active: CachedKey | undefined;
    for (const r of records) {
      const previous = this.keys.get(r.kid);
      const cached: CachedKey = {
        kid: r.kid,
        status: r.status,
        publicJwk: r.publicJwk,
        publicKey: previous?.publicKey ?? createPublicKey({ key: r.publicJwk as never, format: 'jwk' }),
        verifiesUntil: r.status === 'active' ? Number.POSITIVE_INFINITY : (r.retiredAt?.getTime() ?? 0) + ttlMs,
      };
      if (r.status === 'active') {
        cached.privateKey = previous?.privateKey ?? createPrivateKey(this.encryption.decrypt(r.privateKeyEnc));
        active = cached;
      }
      keys.set(r.kid, cached);
    }
    this.keys = keys;
    this.active = active;
    this.version = v;
  }
}
