import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createPool, type Db } from '../src/db/pool.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { listenChannel } from '../src/runtime/listen-channel.ts';
import { seedUser, waitFor } from './support/export-fixtures.ts';
import { createTestApp, tempDir, type TestApp } from './support/harness.ts';
import { workerFleet } from './support/workers.ts';

// The one LISTEN connection of the worker and of notification delivery (src/runtime/listen-channel.ts)
// against a real PostgreSQL whose server ends the connection (pg_terminate_backend, as a restart
// or an idle-session killer would).

let t: TestApp;
let azurite: Azurite;
const pools: Db[] = [];
const fleet = workerFleet();
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  azurite = await startAzurite();
  t = await createTestApp({ DSR_STORAGE_ALLOW: azurite.origin });
});
afterAll(async () => {
  await fleet.stopAll();
  for (const p of pools) await p.end().catch(() => undefined);
  await t?.close();
  await azurite?.stop();
});

function pool(): Db {
  const p = createPool(t.dbUrl, 3);
  pools.push(p);
  return p;
}

/** The backends in LISTEN on `channel` (their last statement), in this test's database. */
async function listeners(channel: string): Promise<number[]> {
  const { rows } = await t.db.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and query = $1', [
    `listen ${channel}`,
  ]);
  return rows.map((r) => r.pid);
}

const notify = (channel: string) => t.db.query('select pg_notify($1, $2)', [channel, '']);

test('a NOTIFY wakes; a connection the server ends is replaced, with one wake to look again; close releases it and stops the wakes', async () => {
  const channel = `test_${randomUUID().replace(/-/g, '')}`;
  const db = pool();
  let wakes = 0;
  const listener = await listenChannel(
    db,
    channel,
    () => {
      wakes++;
    },
    logger,
  );
  const [first] = await listeners(channel);
  expect(first).toBeDefined();
  await notify(channel);
  await waitFor(() => wakes === 1, { what: 'the NOTIFY to wake' });

  await t.db.query('select pg_terminate_backend($1)', [first]);
  const [second] = await waitFor(
    async () => {
      const now = await listeners(channel);
      return now.length === 1 && now[0] !== first ? now : undefined;
    },
    { timeoutMs: 20_000, what: 'a new LISTEN connection' },
  );
  await waitFor(() => wakes === 2, { what: 'the wake after the reconnect' });
  await notify(channel);
  await waitFor(() => wakes === 3, { what: 'a NOTIFY through the new connection' });

  listener.close();
  await waitFor(async () => (await listeners(channel)).length === 0, { what: 'the LISTEN connection to close' });
  expect(second).not.toBe(first);
  await notify(channel);
  // The pool can end: the connection went back. A wake after close would show here.
  await db.end();
  pools.splice(pools.indexOf(db), 1);
  expect(wakes).toBe(3);
});

test('an idle worker whose LISTEN connection the server ended is woken by the next POST', async () => {
  const claimed: string[] = [];
  // No poll within the test: a claim can only come from a NOTIFY.
  await fleet.start(t.dbUrl, {
    config: t.config,
    contentStore: t.deps.contentStore,
    pollIntervalMs: 3_600_000,
    onEvent: (e) => {
      if (e.type === 'claimed') claimed.push(e.operationId);
    },
  });
  const [first] = await listeners('dsr_operations');
  expect(first).toBeDefined();
  await t.db.query('select pg_terminate_backend($1)', [first]);
  await waitFor(
    async () => {
      const now = await listeners('dsr_operations');
      return now.length === 1 && now[0] !== first;
    },
    { timeoutMs: 20_000, what: 'the worker to LISTEN again' },
  );

  const tenant = randomUUID();
  const user = await seedUser(t.db, createLocalContentStore(await tempDir('dsr-listen-content-')), { tenantId: tenant, files: [] });
  const post = await t.app.inject({
    method: 'POST',
    url: `/v1.0/users/${user.userId}/exportPersonalData`,
    headers: { authorization: `Bearer ${await t.appToken(tenant, ['User.Export.All', 'User.Read.All'])}` },
    payload: { storageLocation: await createContainerSas(azurite, `listen-${randomUUID().slice(0, 8)}`) },
  });
  expect(post.statusCode, post.body).toBe(202);
  const id = post.headers.location!.split('/').pop()!;
  await waitFor(() => claimed.includes(id), { timeoutMs: 30_000, what: 'the NOTIFY to wake the worker' });
});
