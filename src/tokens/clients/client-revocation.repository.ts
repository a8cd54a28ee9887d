import { Injectable } from '@nestjs/common';
import type { Tx } from '../../infra/database/database.js';
import { ClientRevocationPort } from './client.revocation-port.js';

@Injectable()
export class ClientRevocationRepository extends ClientRevocationPort {
  async revoke(tx: Tx, clientId: string): Promise<boolean> {
    const rows = await tx.query(`UPDATE clients SET status = 'revoked', tokens_valid_after = now(), updated_at = now() WHERE client_id = $1 RETURNING id`, [clientId]);
    return rows.length === 1;
  }
}
