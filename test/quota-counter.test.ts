import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../src/db/pool.ts';
import { GraphError } from '../src/graph-error.ts';
import { addToQuotaCounters, deleteExpiredQuotaCounters } from '../src/db/queries/quotas.ts';
import { QuotaCounter } from '../src/quota/quota-counter.ts';
import { createTestDatabase } from './support/harness.ts';

let db: Db;
beforeAll(async () => {
  ({ db } = await createTestDatabase());
});
afterAll(async () => {
  await db.end();
});

async function take(counter: QuotaCounter, tenant: string, limit: number, now = new Date()): Promise<'ok' | GraphError> {
  try {
    await counter.take(tenant, 'requests', 'hour', limit, now, 'over quota');
    return 'ok';
  } catch (err) {
    return err as GraphError;
  }
}

test('two API processes share one quota through PostgreSQL', async () => {
  const tenant = randomUUID();
  const a = new QuotaCounter(db, 60_000);
  const b = new QuotaCounter(db, 60_000);
  for (let i = 0; i < 3; i++) expect(await take(a, tenant, 5)).toBe('ok');
  await a.flush();
  expect(await take(b, tenant, 5)).toBe('ok');
  await b.flush(); // learns the shared total: 4
  expect(await take(b, tenant, 5)).toBe('ok');
  const refused = await take(b, tenant, 5);
  expect(refused).toBeInstanceOf(GraphError);
  expect((refused as GraphError).status).toBe(429);
  expect(Number((refused as GraphError).headers['retry-after'])).toBeGreaterThan(0);
  await b.flush();
  const { rows } = await db.query('select count from quota_counters where tenant_id = $1', [tenant]);
  expect(rows).toEqual([{ count: 5 }]);
  await a.close();
  await b.close();
});

test('within one process the limit is exact, per tenant and per window', async () => {
  const tenant = randomUUID();
  const other = randomUUID();
  const counter = new QuotaCounter(db, 10);
  const hour = new Date('2026-11-28T10:59:59Z');
  expect(await take(counter, tenant, 2, hour)).toBe('ok');
  expect(await take(counter, tenant, 2, hour)).toBe('ok');
  const refused = (await take(counter, tenant, 2, hour)) as GraphError;
  expect(refused.code).toBe('TooManyRequests');
  expect(refused.headers['retry-after']).toBe('1');
  expect(await take(counter, other, 2, hour)).toBe('ok');
  expect(await take(counter, tenant, 2, new Date('2026-11-28T11:00:00Z'))).toBe('ok');
  await counter.close();
});

test('windows that ended two days ago are swept, current ones stay', async () => {
  const tenant = randomUUID();
  const now = new Date('2026-11-28T12:00:00Z');
  await addToQuotaCounters(db, [
    { tenantId: tenant, bucket: 'exports', windowStart: new Date('2026-11-25T00:00:00Z'), count: 3 },
    { tenantId: tenant, bucket: 'exports', windowStart: new Date('2026-11-28T00:00:00Z'), count: 4 },
  ]);
  await deleteExpiredQuotaCounters(db, new Date(now.getTime() - 2 * 86_400_000));
  const { rows } = await db.query('select count from quota_counters where tenant_id = $1', [tenant]);
  expect(rows).toEqual([{ count: 4 }]);
});

test('a count on its way to PostgreSQL still counts: no request slips through while a flush is in flight', async () => {
  const tenant = randomUUID();
  const counter = new QuotaCounter(db, 60_000);
  expect(await take(counter, tenant, 1)).toBe('ok');
  const flushing = counter.flush();
  const during = await take(counter, tenant, 1);
  await flushing;
  expect(during).toBeInstanceOf(GraphError);
  expect(await take(counter, tenant, 1)).toBeInstanceOf(GraphError);
  await counter.close();
});
