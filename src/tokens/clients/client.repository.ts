import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Tx } from '../../infra/database/database.js';
import type { Client, ClientType, GrantType } from './client.js';

export interface NewClient {
  clientId: string;
  name: string;
  type: ClientType;
  secretHash: string | null;
  grantTypes: GrantType[];
  scopes: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  allowedOrigins: string[];
}

/** Port: registered client apps. */
export abstract class ClientRepository {
  /** Inside `tx` when given (the admin API writes the client and its audit row together). */
  abstract create(client: NewClient, tx?: Tx): Promise<Client>;
  abstract list(): Promise<Client[]>;
  abstract findByClientId(clientId: string): Promise<Client | null>;
  /** Whether any active client allows this browser origin (a CORS preflight names no client). */
  abstract anyAllowsOrigin(origin: string): Promise<boolean>;
  /** The only read of the secret hash, for client authentication. */
  abstract findCredentials(clientId: string): Promise<{ client: Client; secretHash: string | null } | null>;
}

interface Row {
  id: string;
  client_id: string;
  name: string;
  type: ClientType;
  secret_hash?: string | null;
  grant_types: GrantType[];
  scopes: string[];
  status: 'active' | 'revoked';
  tokens_valid_after: Date | null;
  created_at: Date;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  backchannel_logout_uri: string | null;
  allowed_origins: string[];
}

const COLUMNS = 'id, client_id, name, type, grant_types, scopes, status, tokens_valid_after, created_at, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, allowed_origins';

const toClient = (r: Row): Client => ({
  id: r.id,
  clientId: r.client_id,
  name: r.name,
  type: r.type,
  grantTypes: r.grant_types,
  scopes: r.scopes,
  status: r.status,
  tokensValidAfter: r.tokens_valid_after ? new Date(r.tokens_valid_after) : null,
  createdAt: new Date(r.created_at),
  redirectUris: r.redirect_uris,
  postLogoutRedirectUris: r.post_logout_redirect_uris,
  backchannelLogoutUri: r.backchannel_logout_uri,
  allowedOrigins: r.allowed_origins,
});

@Injectable()
export class TypeOrmClientRepository extends ClientRepository {
  constructor(private readonly ds: DataSource) {
    super();
  }

  async create(c: NewClient, tx?: Tx): Promise<Client> {
    const run = (sql: string, params: unknown[]): Promise<Row[]> => (tx ? tx.query<Row>(sql, params) : this.ds.query(sql, params));
    const [row] = await run(
      `INSERT INTO clients (client_id, name, type, secret_hash, grant_types, scopes, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, allowed_origins)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
      [c.clientId, c.name, c.type, c.secretHash, c.grantTypes, c.scopes, c.redirectUris, c.postLogoutRedirectUris, c.backchannelLogoutUri, c.allowedOrigins],
    );
    return toClient(row);
  }

  async list(): Promise<Client[]> {
    return ((await this.ds.query(`SELECT ${COLUMNS} FROM clients ORDER BY created_at, id`)) as Row[]).map(toClient);
  }

  async findByClientId(clientId: string): Promise<Client | null> {
    const [row] = await this.ds.query(`SELECT ${COLUMNS} FROM clients WHERE client_id = $1`, [clientId]);
    return row ? toClient(row) : null;
  }

  async anyAllowsOrigin(origin: string): Promise<boolean> {
    const rows = await this.ds.query(`SELECT 1 FROM clients WHERE status = 'active' AND $1 = ANY (allowed_origins) LIMIT 1`, [origin]);
    return rows.length > 0;
  }

  async findCredentials(clientId: string): Promise<{ client: Client; secretHash: string | null } | null> {
    const [row] = await this.ds.query(`SELECT ${COLUMNS}, secret_hash FROM clients WHERE client_id = $1`, [clientId]);
    return row ? { client: toClient(row), secretHash: row.secret_hash } : null;
  }
}
