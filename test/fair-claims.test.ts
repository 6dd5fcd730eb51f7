import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import type { Db } from '../src/db/pool.ts';
import { claimOperations } from '../src/db/queries/worker-operations.ts';
import { createTestDatabase } from './support/harness.ts';

let db: Db;

beforeAll(async () => {
  ({ db } = await createTestDatabase());
});
afterAll(async () => {
  await db?.end();
});
beforeEach(async () => {
  await db.query('delete from data_policy_operations');
});

/** The ids claimed, sorted: UPDATE … RETURNING promises no order. */
const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
const sorted = (list: (string | undefined)[]) => [...list].sort();

/** `n` queued exports of `tenant`, submitted `secondsAgo` seconds ago and one second apart after that. */
async function queue(tenant: string, n: number, secondsAgo: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const container = `https://acct.blob.core.windows.net/c${id.slice(0, 8)}`;
    await db.query(
      `insert into data_policy_operations (id, tenant_id, user_id, user_principal_name, storage_location, storage_container, status, requested_by, submitted_at, next_attempt_at)
       values ($1, $2, $3, 'u@contoso.test', $4, $5, 'notStarted', '{}', now() - make_interval(secs => $6), now() - make_interval(secs => $6))`,
      [id, tenant, randomUUID(), `${container}?sig=REDACTED`, container, secondsAgo - i],
    );
    ids.push(id);
  }
  return ids;
}

test("one tenant's backlog does not starve another tenant's single export: it is claimed in the first round", async () => {
  const busy = randomUUID();
  const quiet = randomUUID();
  const backlog = await queue(busy, 40, 3600);
  const [single] = await queue(quiet, 1, 10);
  const first = await claimOperations(db, 'worker-1', 2, 30);
  expect(ids(first)).toEqual(sorted([backlog[0], single]));
  // The rest of the backlog still goes out oldest first.
  const next = await claimOperations(db, 'worker-2', 3, 30);
  expect(ids(next)).toEqual(sorted(backlog.slice(1, 4)));
});

test('exports a tenant already has running count as its turns: idle tenants go first', async () => {
  const busy = randomUUID();
  const backlog = await queue(busy, 10, 3600);
  expect(ids(await claimOperations(db, 'worker-1', 2, 30))).toEqual(sorted(backlog.slice(0, 2)));
  const [b] = await queue(randomUUID(), 1, 20);
  const [c] = await queue(randomUUID(), 1, 10);
  const next = await claimOperations(db, 'worker-2', 3, 30);
  expect(ids(next)).toEqual(sorted([b, c, backlog[2]]));
});

test('rows locked by another claim are skipped, never claimed twice', async () => {
  const queued = await queue(randomUUID(), 6, 600);
  const [x, y] = await Promise.all([claimOperations(db, 'w-x', 3, 30), claimOperations(db, 'w-y', 3, 30)]);
  const claimed = [...x, ...y].map((r) => r.id);
  expect(new Set(claimed).size).toBe(claimed.length);
  expect(claimed.length).toBeGreaterThanOrEqual(3);
  expect(claimed.every((id) => queued.includes(id))).toBe(true);
});

test('with many tenants waiting, the oldest first turns go first, behind no running tenant', async () => {
  const busy = randomUUID();
  const backlog = await queue(busy, 4, 3600);
  // One of the busy tenant's exports is running: its next ones wait behind every first turn.
  expect(ids(await claimOperations(db, 'worker-1', 1, 30))).toEqual([backlog[0]]);
  const singles = [];
  for (let i = 0; i < 6; i++) singles.push(...(await queue(randomUUID(), 1, 600 - i)));
  expect(ids(await claimOperations(db, 'worker-2', 2, 30))).toEqual(sorted(singles.slice(0, 2)));
  expect(ids(await claimOperations(db, 'worker-3', 5, 30))).toEqual(sorted([...singles.slice(2), backlog[1]]));
});
