import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Client apps' redirect URIs, post-logout redirect URIs, back-channel logout URI and allowed CORS origins. */
export class ClientRedirects1765100000000 implements MigrationInterface {
  name = 'ClientRedirects1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE clients
        ADD COLUMN redirect_uris text[] NOT NULL DEFAULT '{}',
        ADD COLUMN post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
        ADD COLUMN backchannel_logout_uri text,
        ADD COLUMN allowed_origins text[] NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clients DROP COLUMN redirect_uris, DROP COLUMN post_logout_redirect_uris, DROP COLUMN backchannel_logout_uri, DROP COLUMN allowed_origins`);
  }
}
