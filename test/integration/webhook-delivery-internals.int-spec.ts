import { randomUUID } from 'node:crypto';
import { Database } from '../../src/infra/database/database.js';
import { WebhookSender } from '../../src/webhooks/delivery/webhook-sender.js';
import { DeliveryStore } from '../../src/webhooks/persistence/sql-deliveries.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/** Two parts of delivery that no HTTP call shows alone: where an attempt connects, and deliveries whose job was lost. */
describe('webhook delivery internals', () => {
  let t: TestApp;
  const rx = new WebhookReceiver();

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_WORKER: 'false' } });
    await rx.start();
  });
  afterAll(async () => {
    await t?.close();
    await rx.stop();
  });

  it('connects to the checked address, never to what the name would resolve to', async () => {
    const sender = t.app.get(WebhookSender, { strict: false });
    // A name that resolves nowhere: the request can only arrive through the pinned address.
    const target = { url: new URL(`http://receiver.invalid:${rx.port}/hook`), address: '127.0.0.1', family: 4 as const };
    const result = await sender.post(target, { 'webhook-id': 'msg_pinned' }, '{"type":"webhook.test"}', 2000);
    expect(result).toMatchObject({ status: 204, error: null });
    const [got] = await rx.waitFor((r) => r.headers['webhook-id'] === 'msg_pinned');
    // The Host header still names the subscriber's host (virtual hosting and TLS see the name).
    expect(got.headers.host).toBe(`receiver.invalid:${rx.port}`);
  });

  it('fails a pending delivery whose job is gone, and leaves alone one whose job waits', async () => {
    const db = t.app.get(Database);
    const store = t.app.get(DeliveryStore, { strict: false });
    const [sub] = await db.query<{ id: string }>(`INSERT INTO webhook_subscriptions (url, secret_enc) VALUES ('https://hooks.example.com/x', 'sealed') RETURNING id`);
    const event = randomUUID();
    await db.query(`INSERT INTO webhook_events (id, type, subject, sequence, body) VALUES ($1, 'user.locked', 'user:x', 1, '{}')`, [event]);
    const [lost] = await db.query<{ id: string }>(`INSERT INTO webhook_deliveries (event_id, subscription_id, status, updated_at) VALUES ($1, $2, 'retrying', now() - interval '1 hour') RETURNING id`, [event, sub.id]);
    const event2 = randomUUID();
    await db.query(`INSERT INTO webhook_events (id, type, subject, sequence, body) VALUES ($1, 'user.locked', 'user:x', 2, '{}')`, [event2]);
    const [waiting] = await db.query<{ id: string }>(`INSERT INTO webhook_deliveries (event_id, subscription_id, status, updated_at) VALUES ($1, $2, 'retrying', now() - interval '1 hour') RETURNING id`, [event2, sub.id]);
    await db.query(`INSERT INTO pgboss.job (name, id, data, start_after) VALUES ('webhook-attempt', $1, $2, now() + interval '1 hour')`, [randomUUID(), JSON.stringify({ deliveryId: waiting.id, attempt: 2 })]);
    const [recent] = await db.query<{ id: string }>(`INSERT INTO webhook_deliveries (event_id, subscription_id, status) SELECT $1, $2, 'pending' WHERE false RETURNING id`, [event2, sub.id]);
    expect(recent).toBeUndefined();

    expect(await store.failOrphans(300)).toBe(1);
    const rows = await db.query<{ id: string; status: string; last_error: string | null }>(`SELECT id, status, last_error FROM webhook_deliveries ORDER BY status`);
    expect(rows).toEqual([
      { id: lost.id, status: 'failed', last_error: 'its attempt was lost (no worker could make it); redeliver it' },
      { id: waiting.id, status: 'retrying', last_error: null },
    ]);
  });
});
