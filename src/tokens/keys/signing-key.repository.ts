import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Database, type Tx } from '../../infra/database/database.js';

export type NewSigningKey = Omit<SigningKeyRecord, 'status' | 'createdAt' | 'retiredAt'>;

export type KeyStatus = 'active' | 'retired' | 'revoked';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateKeyEnc: string;
  status: KeyStatus;
  createdAt: Date;
  retiredAt: Date | null;
}

/** Port: signing keys at rest (private keys encrypted). */
export abstract class SigningKeyRepository {
  /** Keys that are active, or retired or revoked after `since` (older ones verify nothing any more). */
  abstract listRelevant(since: Date): Promise<SigningKeyRecord[]>;
  /** A fingerprint that changes whenever any key changes: cheap to poll. */
  abstract version(): Promise<string>;
  /** Retires the active key (if any) and makes `key` the active one, atomically. */
  abstract activate(key: NewSigningKey, alsoInTx?: (tx: Tx) => Promise<void>): Promise<void>;
  /** Makes `key` active only when no key is; false when another instance got there first. */
  abstract activateFirst(key: NewSigningKey): Promise<boolean>;
}

export const INSERT_ACTIVE = `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, status) VALUES ($1, $2, $3, $4, 'active')`;
export const insertParams = (key: NewSigningKey) => [key.kid, key.alg, JSON.stringify(key.publicJwk), key.privateKeyEnc];

interface Row {
  kid: string;
  alg: string;
  public_jwk: Record<string, unknown>;
  private_key_enc: string;
  status: KeyStatus;
  created_at: Date;
  retired_at: Date | null;
}

@Injectable()
export class TypeOrmSigningKeyRepository extends SigningKeyRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly db: Database,
  ) {
    super();
  }

  async listRelevant(since: Date): Promise<SigningKeyRecord[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT * FROM signing_keys WHERE status = 'active' OR coalesce(revoked_at, retired_at) > $1 ORDER BY created_at DESC`,
      [since],
    );
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      publicJwk: r.public_jwk,
      privateKeyEnc: r.private_key_enc,
      status: r.status,
      createdAt: new Date(r.created_at),
      retiredAt: r.retired_at ? new Date(r.retired_at) : null,
    }));
  }

  async version(): Promise<string> {
    const [row] = await this.ds.query(
      `SELECT count(*)::text || ':' || coalesce(max(greatest(created_at, retired_at, revoked_at))::text, '') AS v FROM signing_keys`,
    );
    return row.v as string;
  }

  async activateFirst(key: NewSigningKey): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(`${INSERT_ACTIVE} ON CONFLICT DO NOTHING RETURNING kid`, insertParams(key));
    return rows.length === 1;
  }

  async activate(key: NewSigningKey, alsoInTx?: (tx: Tx) => Promise<void>): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE signing_keys SET status = 'retired', retired_at = now() WHERE status = 'active'`);
      await tx.query(INSERT_ACTIVE, insertParams(key));
      await alsoInTx?.(tx);
    });
  }

}
