import { Injectable } from '@nestjs/common';
import type { Tx } from '../../infra/database/database.js';
import { SigningKeyGenerator } from './signing-key.generator.js';
import { INSERT_ACTIVE, insertParams, type KeyStatus } from './signing-key.repository.js';
import { type KeyRevocationOutcome, SigningKeyRevocationPort } from './signing-key.revocation-port.js';

@Injectable()
export class SigningKeyRevocationRepository extends SigningKeyRevocationPort {
  constructor(private readonly generator: SigningKeyGenerator) {
    super();
  }

  async revoke(tx: Tx, kid: string): Promise<KeyRevocationOutcome> {
    const [row] = await tx.query<{ status: KeyStatus }>(`SELECT status FROM signing_keys WHERE kid = $1 FOR UPDATE`, [kid]);
    if (!row) return { found: false };
    if (row.status === 'revoked') return { found: true, revoked: false };
    await tx.query(`UPDATE signing_keys SET status = 'revoked', retired_at = coalesce(retired_at, now()), revoked_at = now() WHERE kid = $1`, [kid]);
    if (row.status !== 'active') return { found: true, revoked: true };
    const successor = this.generator.generate();
    await tx.query(INSERT_ACTIVE, insertParams(successor));
    return { found: true, revoked: true, successorKid: successor.kid };
  }
}
