import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/embedded/postgres.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool, type Db } from '../src/db/pool.ts';
import { insertOperationWithAudit } from '../src/db/queries/operations.ts';
import { insertSubscription } from '../src/db/queries/subscriptions.ts';
import { claimOperations, endOperation } from '../src/db/queries/worker-operations.ts';
import { auditRecord } from '../src/domain/directory-audit.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startNotificationDelivery, type DeliveryEvent, type DeliveryOptions, type NotificationDelivery } from '../src/subscriptions/delivery.ts';
import { startWorker } from '../src/worker/worker.ts';
import { REQUESTER, seedUser, waitFor } from './support/export-fixtures.ts';
import { createTestApp, fakeSasUrl, tempDir, type TestApp } from './support/harness.ts';
import { NotificationReceiver } from './support/notification-receiver.ts';
import { killAllChildren, startWorkerProcess } from '../bench/support/processes.ts';

let t: TestApp;
let receiver: NotificationReceiver;
const deliveries: NotificationDelivery[] = [];
const EXPORT_ROLES = ['User.Export.All', 'User.Read.All'];
// Short leases so that a killed deliverer's rows come back within seconds.
const LEASE_SECONDS = '3';

beforeAll(async () => {
  receiver = await NotificationReceiver.start();
  t = await createTestApp({ DSR_NOTIFICATION_ALLOW: receiver.origin, DSR_LEASE_SECONDS: LEASE_SECONDS });
});

afterAll(async () => {
  await killAllChildren();
  for (const d of deliveries) await d.stop();
  await t?.close();
  await receiver?.close();
});

/**
 * A plain pino logger (no secret scrubber, so that a secret the delivery code logs shows) whose
 * lines collect in `logged`.
 */
function capturedLogger(level: pino.Level): { logger: pino.Logger; logged: string[] } {
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logged.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level }, sink), logged };
}

async function deliver(opts: Partial<DeliveryOptions> = {}): Promise<NotificationDelivery> {
  const d = await startNotificationDelivery({
    config: t.config,
    db: t.db,
    workerId: `test-${randomUUID().slice(0, 8)}`,
    pollIntervalMs: 100,
    retry: { baseMs: 20, capMs: 200 },
    ...opts,
  });
  deliveries.push(d);
  return d;
}

async function subscribe(tenant: string, path: string, extra: Record<string, unknown> = {}): Promise<string> {
  const token = await t.appToken(tenant, EXPORT_ROLES);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1.0/subscriptions',
    headers: { authorization: `Bearer ${token}` },
    payload: {
      changeType: 'updated',
      resource: 'dataPolicyOperations',
      notificationUrl: receiver.url(path),
      expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(),
      clientState: `state-${path}`,
      ...extra,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

/**
 * Export operations taken through their states by the worker's own statements (queue, claim,
 * complete) without writing packages: what these tests watch is the notification path, and 300
 * real packages would only make the suite slower.
 */
async function runOperations(tenant: string, n: number, db: Db = t.db): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const row = await insertOperationWithAudit(
      db,
      {
        id: randomUUID(),
        tenantId: tenant,
        userId: randomUUID(),
        userPrincipalName: 'subject@contoso.test',
        storageLocation: fakeSasUrl(),
        storageContainer: `https://acct.blob.core.windows.net/${randomUUID()}`,
        requestedBy: REQUESTER,
        submittedAt: new Date(),
      },
      { ipAddress: null },
    );
    ids.push(row!.id);
  }
  const pending = new Set(ids);
  while (pending.size > 0) {
    for (const row of await claimOperations(db, 'test-driver', 100, 60)) {
      expect(pending.has(row.id)).toBe(true);
      const audit = auditRecord({
        tenantId: row.tenant_id,
        now: new Date(),
        activity: 'Export personal data completed',
        operationType: 'Other',
        requester: REQUESTER,
        ipAddress: null,
        target: { id: row.user_id, userPrincipalName: row.user_principal_name },
      });
      expect(
        await endOperation(db, row.id, row.lease_token!, { status: 'complete', bytesWritten: 0 }, 'https://acct.blob.core.windows.net/c', audit),
      ).toBeDefined();
      pending.delete(row.id);
    }
  }
  return ids;
}

async function outboxIds(subscriptionId: string, db: Db = t.db): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('select id from notification_outbox where subscription_id = $1', [subscriptionId]);
  return rows.map((r) => r.id);
}

function receivedIds(path: string): Set<string> {
  return new Set(receiver.items(path).map((i) => i.id));
}

test('300 exports with one subscription: a completion notification for every one, batched per subscription', async () => {
  const tenant = randomUUID();
  const subscriptionId = await subscribe(tenant, '/load');
  const ids = await runOperations(tenant, 300);
  // Two status changes each (running, complete), written with the changes.
  expect((await outboxIds(subscriptionId)).length).toBe(600);

  const metrics = createMetrics();
  await deliver({ metrics });
  await receiver.waitFor(() => receivedIds('/load').size === 600, 'all 600 notifications', 60_000);
  const items = receiver.items('/load');
  for (const id of ids) {
    expect(items.filter((i) => i.resourceData!.id === id && i.changeType === 'updated').length).toBeGreaterThanOrEqual(2);
  }
  expect(new Set(items.map((i) => i.subscriptionId))).toEqual(new Set([subscriptionId]));
  const batches = receiver.batches.filter((b) => b.path === '/load');
  expect(Math.max(...batches.map((b) => b.value.length))).toBeGreaterThan(1);
  expect(Math.max(...batches.map((b) => b.value.length))).toBeLessThanOrEqual(100);
  await waitFor(
    async () => (await t.db.query('select 1 from notification_outbox where subscription_id = $1 and delivered_at is null', [subscriptionId])).rowCount === 0,
  );
  const scrape = await metrics.registry.metrics();
  expect(scrape).toMatch(/dsr_notifications_delivered_total [1-9]\d\d/);
  expect(scrape).toMatch(/dsr_notification_outbox_backlog \d+/);
});

test('a receiver that is down and then back gets every notification; the URL secret is never logged', async () => {
  const tenant = randomUUID();
  receiver.failing.add('/flaky');
  const subscriptionId = await subscribe(tenant, '/flaky', { notificationUrl: `${receiver.url('/flaky')}?code=flaky-secret` });
  const { logger, logged } = capturedLogger('debug');
  const failures = new Map<string, number>();
  const metrics = createMetrics();
  await deliver({
    logger,
    metrics,
    onEvent: (e: DeliveryEvent) => {
      if (e.type === 'failed') for (const id of e.ids) failures.set(id, (failures.get(id) ?? 0) + 1);
    },
  });
  await runOperations(tenant, 20);
  const expected = await outboxIds(subscriptionId);
  expect(expected.length).toBe(40);
  // Down long enough for every notification to have failed and been retried at least twice.
  await waitFor(() => expected.every((id) => (failures.get(id) ?? 0) >= 3), { timeoutMs: 30_000, what: 'three failed attempts of each notification' });
  expect(receivedIds('/flaky').size).toBe(0);
  expect((await t.db.query('select failing_since from subscriptions where id = $1', [subscriptionId])).rows[0].failing_since).not.toBeNull();

  receiver.failing.delete('/flaky');
  await receiver.waitFor(() => expected.every((id) => receivedIds('/flaky').has(id)), 'every notification after the outage', 30_000);
  await waitFor(async () => (await t.db.query('select failing_since from subscriptions where id = $1', [subscriptionId])).rows[0].failing_since === null);
  const scrape = await metrics.registry.metrics();
  expect(scrape).toMatch(/dsr_notifications_failed_total [1-9]/);
  expect(scrape).toMatch(/dsr_notifications_retried_total [1-9]/);
  expect(logged.join('')).toMatch(/notification delivery failed/);
  expect(logged.join('')).not.toContain('flaky-secret');
});

test('a subscription that keeps failing is removed with subscriptionRemoved to its lifecycle URL; expired ones are swept', async () => {
  const tenant = randomUUID();
  receiver.failing.add('/dead');
  const subscriptionId = await subscribe(tenant, '/dead', { lifecycleNotificationUrl: receiver.url('/lifecycle') });
  const expired = await subscribe(tenant, '/expired');
  await t.db.query(`update subscriptions set expires_at = now() - interval '1 second' where id = $1`, [expired]);
  const removed: string[] = [];
  await deliver({
    retry: { baseMs: 20, capMs: 100, windowMs: 300 },
    sweepIntervalMs: 100,
    onEvent: (e) => {
      if (e.type === 'removed') removed.push(...e.subscriptionIds);
    },
  });
  await runOperations(tenant, 1);
  await receiver.waitFor(() => receiver.items('/lifecycle').length > 0, 'the subscriptionRemoved notification');
  expect(receiver.items('/lifecycle')).toEqual([
    {
      id: expect.any(String),
      subscriptionId,
      subscriptionExpirationDateTime: expect.stringMatching(/Z$/),
      tenantId: tenant,
      clientState: 'state-/dead',
      lifecycleEvent: 'subscriptionRemoved',
    },
  ]);
  expect(removed).toContain(subscriptionId);
  const token = await t.appToken(tenant, EXPORT_ROLES);
  const get = await t.app.inject({ method: 'GET', url: `/v1.0/subscriptions/${subscriptionId}`, headers: { authorization: `Bearer ${token}` } });
  expect(get.statusCode).toBe(404);
  expect(
    (await t.db.query('select 1 from notification_outbox where subscription_id = $1 and kind = $2 and delivered_at is null', [subscriptionId, 'change']))
      .rowCount,
  ).toBe(0);
  await waitFor(async () => (await t.db.query('select 1 from subscriptions where id = $1', [expired])).rowCount === 0, {
    what: 'the sweep of the expired subscription',
  });
  receiver.failing.delete('/dead');
  for (const d of deliveries.splice(0)) await d.stop();
});

test('a receiver that does not answer in time counts as a failure and is retried', async () => {
  const tenant = randomUUID();
  receiver.hanging.add('/slow');
  const subscriptionId = await subscribe(tenant, '/slow');
  const reasons: string[] = [];
  await deliver({
    onEvent: (e) => {
      if (e.type === 'failed' && e.subscriptionId === subscriptionId) reasons.push(e.reason);
    },
  });
  await runOperations(tenant, 1);
  // The lease is 3 s here, so a POST gets half of it.
  await waitFor(() => reasons.length > 0, { timeoutMs: 20_000, what: 'the timed-out delivery' });
  expect(reasons[0]).toBe('no answer within 1.5 s');
  receiver.hanging.delete('/slow');
  receiver.dropConnections();
  const expected = await outboxIds(subscriptionId);
  await receiver.waitFor(() => expected.every((id) => receivedIds('/slow').has(id)), 'delivery after the timeouts', 30_000);
  for (const d of deliveries.splice(0)) await d.stop();
});

test('a worker SIGKILLed mid-delivery: the notification is delivered by another once the lease ends', async () => {
  const tenant = randomUUID();
  receiver.hanging.add('/killed');
  const subscriptionId = await subscribe(tenant, '/killed');
  await runOperations(tenant, 1);
  const child = await startWorkerProcess({
    // A lease long enough that the delivery timeout (half of it) cannot end the stalled POST before the kill.
    DSR_DATABASE_URL: t.dbUrl,
    DSR_DATA_DIR: t.dataDir,
    DSR_NOTIFICATION_ALLOW: receiver.origin,
    DSR_LEASE_SECONDS: '8',
  });
  await receiver.waitFor(() => receiver.refused.includes('/killed'), 'the worker process to be mid-delivery');
  child.kill('SIGKILL');
  await child.exited;
  const { rows } = await t.db.query<{ delivered_at: Date | null; lease_owner: string }>(
    'select delivered_at, lease_owner from notification_outbox where subscription_id = $1',
    [subscriptionId],
  );
  expect(rows.every((r) => r.delivered_at === null && r.lease_owner.includes(`:${child.pid}:`))).toBe(true);

  receiver.hanging.delete('/killed');
  receiver.dropConnections();
  await deliver();
  const expected = await outboxIds(subscriptionId);
  await receiver.waitFor(() => expected.every((id) => receivedIds('/killed').has(id)), 'delivery after the kill', 30_000);
  const after = await t.db.query<{ attempts: number }>('select attempts from notification_outbox where subscription_id = $1', [subscriptionId]);
  expect(after.rows.every((r) => r.attempts >= 2)).toBe(true);
  // The worker process logged the stalled delivery's bookkeeping, never where it was going.
  expect(child.lines.join('\n')).not.toContain(receiver.origin);
});

test('a real export run by a worker notifies its completion', async () => {
  const azurite: Azurite = await startAzurite();
  const store = createLocalContentStore(await tempDir('dsr-notify-content-'));
  const app = await createTestApp({ DSR_NOTIFICATION_ALLOW: receiver.origin, DSR_STORAGE_ALLOW: azurite.origin });
  const worker = await startWorker({ config: app.config, db: app.db, contentStore: store, pollIntervalMs: 250, notifications: { pollIntervalMs: 100 } });
  try {
    const tenant = randomUUID();
    const token = await app.appToken(tenant, EXPORT_ROLES);
    const created = await app.app.inject({
      method: 'POST',
      url: '/v1.0/subscriptions',
      headers: { authorization: `Bearer ${token}` },
      payload: {
        changeType: 'updated',
        resource: 'dataPolicyOperations',
        notificationUrl: receiver.url('/real'),
        expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    expect(created.statusCode).toBe(201);
    const user = await seedUser(app.db, store, { tenantId: tenant, files: [{ path: 'a.txt', body: Buffer.from('hello') }] });
    const sas = await createContainerSas(azurite, `notify-${randomUUID().slice(0, 8)}`);
    const post = await app.app.inject({
      method: 'POST',
      url: `/v1.0/users/${user.userId}/exportPersonalData`,
      headers: { authorization: `Bearer ${token}` },
      payload: { storageLocation: sas },
    });
    expect(post.statusCode).toBe(202);
    const operationId = post.headers.location!.split('/').pop()!;
    await receiver.waitFor(
      () => receiver.items('/real').filter((i) => i.resourceData!.id === operationId).length >= 2,
      'running and complete notifications',
      60_000,
    );
    const get = await app.app.inject({ method: 'GET', url: `/v1.0/dataPolicyOperations/${operationId}`, headers: { authorization: `Bearer ${token}` } });
    expect(get.json().status).toBe('complete');
    expect(JSON.stringify(receiver.batches.filter((b) => b.path === '/real'))).not.toContain('sig=');
  } finally {
    await worker.stop(1000);
    await app.close();
    await azurite.stop();
  }
});

test('PostgreSQL stopped and restarted: pending notifications are delivered and new ones still wake the deliverer', async () => {
  const pgDir = await tempDir('dsr-notify-pg-');
  const port = await freePort();
  let server: EmbeddedDatabase = await startEmbeddedPostgres(pgDir, () => undefined, { port });
  const admin = createPool(server.url, 1);
  await admin.query('create database notify');
  await admin.end();
  const pool = createPool(server.url.replace(/\/postgres$/, '/notify'), 4);
  try {
    await migrate(pool);
    const tenant = randomUUID();
    receiver.failing.add('/pg');
    const subscription = await insertSubscription(pool, {
      id: randomUUID(),
      tenantId: tenant,
      resource: 'dataPolicyOperations',
      resourceKind: 'dataPolicyOperations',
      resourceId: null,
      changeTypes: ['updated'],
      notificationUrl: receiver.url('/pg'),
      lifecycleNotificationUrl: null,
      expiresAt: new Date(Date.now() + 3_600_000),
      clientState: null,
      applicationId: randomUUID(),
      creatorId: null,
      latestSupportedTlsVersion: 'v1_2',
      notificationUrlAppId: null,
    });
    await runOperations(tenant, 3, pool);
    const { logger, logged } = capturedLogger('warn');
    await deliver({ db: pool, logger });
    await receiver.waitFor(() => receiver.refused.includes('/pg'), 'a failed delivery before the outage');

    await server.stop();
    await waitFor(() => logged.some((l) => /delivery loop failed|LISTEN connection lost|bookkeeping failed/.test(l)), {
      timeoutMs: 20_000,
      what: 'the deliverer to notice the outage',
    });
    receiver.failing.delete('/pg');
    server = await startEmbeddedPostgres(pgDir, () => undefined, { port });
    const before = await outboxIds(subscription.id, pool);
    await receiver.waitFor(() => before.every((id) => receivedIds('/pg').has(id)), 'the notifications written before the outage', 30_000);
    // Written after the restart: the NOTIFY reaches a re-established LISTEN (or the poll finds it).
    await runOperations(tenant, 1, pool);
    const after = await outboxIds(subscription.id, pool);
    await receiver.waitFor(() => after.every((id) => receivedIds('/pg').has(id)), 'a notification written after the restart', 30_000);
  } finally {
    for (const d of deliveries.splice(0)) await d.stop();
    await pool.end();
    await server.stop();
    await rm(pgDir, { recursive: true, force: true });
  }
}, 90_000);
