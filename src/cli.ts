import 'reflect-metadata';
import { type INestApplicationContext, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command, CommanderError } from 'commander';
import { DataSource } from 'typeorm';
import { ConfigModule } from './config/config.module.js';
import { type AppConfig, ConfigError } from './config/config.schema.js';
import { loadStartupConfig } from './startup-config.js';
import { DatabaseModule } from './infra/database/database.module.js';
import { dataSourceOptions } from './infra/database/data-source.js';
import { type DatabaseEndpoint, openDatabase } from './infra/database/open-database.js';
import { DomainError } from './infra/errors/domain-error.js';
import { HttpErrors } from './infra/errors/http.errors.js';
import type { User } from './users/user.js';
import { userJson } from './users/user.presenter.js';
import { UsersModule } from './users/users.module.js';
import { UsersService } from './users/users.service.js';
import { RedisModule } from './infra/redis/redis.module.js';
import { clientJson } from './tokens/clients/client.presenter.js';
import { ClientsService } from './tokens/clients/clients.service.js';
import { KeyService } from './tokens/keys/key.service.js';
import { TokensModule } from './tokens/tokens.module.js';
import { AuditModule } from './audit/audit.module.js';
import { subscriptionJson } from './webhooks/subscription.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';
import { WebhooksService } from './webhooks/webhooks.service.js';
import { EVENT_TYPES } from './webhooks/webhook-events.js';

/** Exit codes: 0 done, 1 failed, 2 bad input (with a one-line reason). */
interface Cli {
  config: AppConfig;
  json: boolean;
  database?: DatabaseEndpoint;
  context?: INestApplicationContext;
}

function out(cli: Cli, json: object, text: string): void {
  process.stdout.write(cli.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

const collect = (v: string, all: string[]) => [...all, v];

async function database(cli: Cli): Promise<DatabaseEndpoint> {
  cli.database ??= await openDatabase(cli.config);
  return cli.database;
}

/** A Nest context with the database and the given feature modules, no HTTP server. */
async function context(cli: Cli, ...features: Type[]): Promise<INestApplicationContext> {
  const { url } = await database(cli);
  // A command never delivers webhooks: the service's workers do.
  @Module({ imports: [ConfigModule.forRoot({ ...cli.config, webhookWorker: false }), DatabaseModule.forRoot(url), RedisModule, ...features] })
  class CliModule {}
  cli.context = await NestFactory.createApplicationContext(CliModule, { logger: ['error'], abortOnError: false });
  return cli.context;
}

async function withDataSource<T>(cli: Cli, work: (ds: DataSource) => Promise<T>): Promise<T> {
  const { url } = await database(cli);
  const ds = await new DataSource(dataSourceOptions(url, 2)).initialize();
  try {
    return await work(ds);
  } finally {
    await ds.destroy();
  }
}

function program(cli: Cli): Command {
  const root = new Command('latchkey')
    .description('Latchkey operator commands')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .hook('preAction', (cmd) => {
      cli.json = Boolean(cmd.opts().json);
    });

  root
    .command('user:create')
    .description('create a user')
    .requiredOption('--email <email>', 'email address (unique, case-insensitive)')
    .requiredOption('--password <password>', 'password (at least 12 characters, not a common one)')
    .option('--role <role>', 'a role; repeat for several', collect, [] as string[])
    .option('--json', 'print one JSON object')
    .action(async (o: { email: string; password: string; role: string[]; json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const users = (await context(cli, UsersModule)).get(UsersService);
      const user = await users.createUser({ email: o.email, password: o.password, roles: o.role });
      out(cli, { user: userJson(user) }, `created user ${user.email} (${user.id})${user.roles.length ? ` with roles ${user.roles.join(', ')}` : ''}`);
    });

  root
    .command('user:list')
    .description('list users, oldest first')
    .option('--q <text>', 'only emails containing this text')
    .option('--json', 'print one JSON object')
    .action(async (o: { q?: string; json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const users = (await context(cli, UsersModule)).get(UsersService);
      const all: User[] = [];
      let cursor: string | undefined;
      do {
        const page = await users.list({ q: o.q, cursor, limit: 200 });
        all.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const lines = all.map((u) => `${u.id}  ${u.email}  ${u.status}  ${u.roles.join(',') || '-'}`);
      out(cli, { users: all.map(userJson) }, lines.length ? lines.join('\n') : 'no users');
    });

  root
    .command('client:create')
    .description('register a client app; a confidential one gets a secret, printed once')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--type <type>', 'confidential or public')
    .option('--grant <grant>', 'an allowed grant (authorization_code, refresh_token, client_credentials, password); repeat for several', collect, [] as string[])
    .option('--scope <scope>', 'an allowed scope; repeat for several', collect, [] as string[])
    .option('--redirect-uri <uri>', 'a redirect URI (https, http on loopback, or a private-use scheme); repeat for several', collect, [] as string[])
    .option('--post-logout-redirect-uri <uri>', 'a post-logout redirect URI; repeat for several', collect, [] as string[])
    .option('--backchannel-logout-uri <uri>', 'where back-channel logout tokens are POSTed (https)')
    .option('--allowed-origin <origin>', 'a browser origin allowed to call Latchkey for this client (CORS); repeat for several', collect, [] as string[])
    .option('--json', 'print one JSON object')
    .action(async (o: { name: string; type: string; grant: string[]; scope: string[]; redirectUri: string[]; postLogoutRedirectUri: string[]; backchannelLogoutUri?: string; allowedOrigin: string[]; json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const clients = (await context(cli, TokensModule)).get(ClientsService);
      const { client, clientSecret } = await clients.create({
        name: o.name,
        type: o.type,
        grantTypes: o.grant,
        scopes: o.scope,
        redirectUris: o.redirectUri,
        postLogoutRedirectUris: o.postLogoutRedirectUri,
        backchannelLogoutUri: o.backchannelLogoutUri ?? null,
        allowedOrigins: o.allowedOrigin,
      });
      out(
        cli,
        { client: clientJson(client), ...(clientSecret ? { client_secret: clientSecret } : {}) },
        [`created ${client.type} client "${client.name}"`, `client_id: ${client.clientId}`, ...(clientSecret ? [`client_secret: ${clientSecret}`, '(the secret is shown only this once)'] : [])].join('\n'),
      );
    });

  root
    .command('client:list')
    .description('list client apps')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const clients = await (await context(cli, TokensModule)).get(ClientsService).list();
      const lines = clients.map((c) => `${c.clientId}  ${c.type}  ${c.status}  ${c.grantTypes.join(',')}  ${c.name}`);
      out(cli, { clients: clients.map(clientJson) }, lines.length ? lines.join('\n') : 'no clients');
    });

  root
    .command('keys:rotate')
    .description('make a new signing key active; tokens signed by the old one verify until they expire')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const kid = await (await context(cli, TokensModule)).get(KeyService).rotate();
      out(cli, { kid }, `rotated: ${kid} is the active signing key`);
    });

  root
    .command('webhook:create')
    .description('subscribe a service to revocation events; its signing secret is printed once')
    .requiredOption('--url <url>', 'where events are POSTed (https; http outside production)')
    .option('--description <text>', 'what the subscriber is', '')
    .option('--event <type>', `an event type to send (${EVENT_TYPES.join(', ')}); repeat for several; none: every type`, collect, [] as string[])
    .option('--disabled', 'create it disabled')
    .option('--reason <text>', 'why, for the audit log', 'created with the CLI')
    .option('--json', 'print one JSON object')
    .action(async (o: { url: string; description: string; event: string[]; disabled?: boolean; reason: string; json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const unknown = o.event.filter((e) => e !== '*' && !(EVENT_TYPES as readonly string[]).includes(e));
      if (unknown.length) throw new DomainError(HttpErrors.BAD_REQUEST, `unknown event type ${unknown.join(', ')} (known: ${EVENT_TYPES.join(', ')})`);
      const webhooks = (await context(cli, AuditModule, WebhooksModule)).get(WebhooksService);
      const eventTypes = o.event.length && !o.event.includes('*') ? [...new Set(o.event)] : null;
      const { subscription, secret } = await webhooks.create(
        { url: o.url, description: o.description, eventTypes, enabled: !o.disabled },
        { actorType: 'system', actorId: null, reason: o.reason },
      );
      out(
        cli,
        { subscription: subscriptionJson(subscription), secret },
        [`created webhook subscription ${subscription.id} -> ${subscription.url}`, `events: ${(subscription.eventTypes ?? ['*']).join(', ')}`, `secret: ${secret}`, '(the secret is shown only this once)'].join('\n'),
      );
    });

  root
    .command('webhook:list')
    .description('list webhook subscriptions')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const all = await (await context(cli, AuditModule, WebhooksModule)).get(WebhooksService).list();
      const lines = all.map((w) => `${w.id}  ${w.enabled ? 'enabled' : 'disabled'}  ${(w.eventTypes ?? ['*']).join(',')}  ${w.url}`);
      out(cli, { webhooks: all.map(subscriptionJson) }, lines.length ? lines.join('\n') : 'no webhook subscriptions');
    });

  root
    .command('migration:run')
    .description('apply every pending migration')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const applied = await withDataSource(cli, (ds) => ds.runMigrations({ transaction: 'each' }));
      out(cli, { applied: applied.map((m) => m.name) }, applied.length ? applied.map((m) => `applied ${m.name}`).join('\n') : 'no pending migrations');
    });

  root
    .command('migration:revert')
    .description('revert the most recent migration')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }) => {
      cli.json ||= Boolean(o.json);
      const name = await withDataSource(cli, async (ds) => {
        const executed = await ds.query(`SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1`).catch(() => []);
        await ds.undoLastMigration({ transaction: 'each' });
        return (executed[0]?.name as string | undefined) ?? null;
      });
      out(cli, { reverted: name }, name ? `reverted ${name}` : 'nothing to revert');
    });

  return root;
}

async function main(argv: string[]): Promise<number> {
  let config: AppConfig;
  try {
    config = loadStartupConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const cli: Cli = { config, json: argv.includes('--json') };
  try {
    await program(cli).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof DomainError && err.status < 500) {
      if (cli.json) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await cli.context?.close();
    await cli.database?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`failed: ${err.message}\n`);
    process.exit(1);
  },
);
