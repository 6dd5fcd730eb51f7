import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildApp } from '../src/app.ts';
import { buildOpsApp } from '../src/http/ops-app.ts';
import { createMetrics, QUEUE_GAUGES_MAX_AGE_MS } from '../src/metrics.ts';
import { createTestApp, type TestApp } from './support/harness.ts';
import { sample } from './support/prometheus.ts';

const TOKEN = 'scrape-me-0123456789';

let open: TestApp;
let guarded: TestApp;

beforeAll(async () => {
  open = await createTestApp();
  guarded = await createTestApp({ DSR_METRICS_TOKEN: TOKEN });
});
afterAll(async () => {
  await open?.close();
  await guarded?.close();
});

test('without DSR_METRICS_TOKEN the API port does not serve /metrics; /healthz and /readyz stay public', async () => {
  const res = await open.app.inject({ url: '/metrics' });
  expect(res.statusCode).toBe(404);
  expect(res.body).not.toContain('dsr_');
  expect((await open.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  expect((await open.app.inject({ url: '/readyz' })).statusCode).toBe(200);
});

test('with DSR_METRICS_TOKEN the API port serves /metrics to that bearer token only', async () => {
  for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, TOKEN, `Basic ${TOKEN}`]) {
    const res = await guarded.app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json().error.code).toBe('InvalidAuthenticationToken');
    expect(res.body).not.toContain('dsr_queue_depth');
  }
  const ok = await guarded.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(ok.statusCode).toBe(200);
  expect(ok.body).toContain('dsr_queue_depth');
  expect((await guarded.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  expect((await guarded.app.inject({ url: '/readyz' })).statusCode).toBe(200);
});

test("the worker's own port asks for the token when one is set", async () => {
  const ops = buildOpsApp({ db: guarded.db, metrics: createMetrics(), draining: () => false, metricsToken: TOKEN });
  try {
    expect((await ops.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await ops.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);
    expect((await ops.inject({ url: '/healthz' })).statusCode).toBe(200);
  } finally {
    await ops.close();
  }
});

test('the queue gauges are read from PostgreSQL at most once per interval, not per scrape', async () => {
  let now = Date.parse('2026-11-30T12:00:00Z');
  const app = await buildApp({ ...guarded.deps, metrics: createMetrics(), clock: () => new Date(now) });
  const scrape = async () => {
    const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    return sample(res.body, 'dsr_queue_depth');
  };
  try {
    const before = await scrape();
    await guarded.db.query(
      `insert into data_policy_operations (id, tenant_id, user_id, user_principal_name, storage_location, storage_container, status, requested_by)
       values ($1, $2, $3, 'q@contoso.test', 'https://acct.blob.core.windows.net/q?sig=REDACTED', $4, 'notStarted', '{}')`,
      [randomUUID(), randomUUID(), randomUUID(), `https://acct.blob.core.windows.net/q${randomUUID().slice(0, 8)}`],
    );
    // Many scrapes within the interval: the gauges served are the ones read at the first.
    for (let i = 0; i < 5; i++) {
      now += Math.floor(QUEUE_GAUGES_MAX_AGE_MS / 10);
      expect(await scrape()).toBe(before);
    }
    now += QUEUE_GAUGES_MAX_AGE_MS;
    expect(await scrape()).toBe(before! + 1);
  } finally {
    await app.close();
  }
});
