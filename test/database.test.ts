import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, expect, test } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startEmbeddedPostgres } from '../src/embedded/postgres.ts';
import { listMigrations, migrate, migrationsApplied } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { openDatabase } from '../src/runtime/open-database.ts';
import { tempDir } from './support/harness.ts';

const pools: { end(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('two processes migrating one database at once apply each migration exactly once', async () => {
  const name = `t_${randomUUID().replace(/-/g, '')}`;
  const admin = createPool(inject('pgUrl'), 1);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = inject('pgUrl').replace(/\/postgres$/, `/${name}`);
  const a = createPool(url, 2);
  const b = createPool(url, 2);
  pools.push(a, b);
  const [appliedA, appliedB] = await Promise.all([migrate(a), migrate(b)]);
  const all = await listMigrations();
  expect([...appliedA, ...appliedB].sort()).toEqual(all);
  const { rows } = await a.query<{ name: string }>('select name from schema_migrations order by name');
  expect(rows.map((r) => r.name)).toEqual(all);
  expect(await migrationsApplied(a)).toBe(true);
  expect(await migrate(a)).toEqual([]);
});

test('embedded PostgreSQL starts under the data folder, keeps data across restarts, and stops', async () => {
  const dataDir = await tempDir('dsr-embedded-');
  const config = loadConfig({ DSR_DATA_DIR: dataDir });
  const first = await openDatabase(config);
  expect(first.embedded).toBe(true);
  await first.db.query(`insert into users (tenant_id, id, user_principal_name) values ($1, $2, 'kept@contoso.com')`, [randomUUID(), randomUUID()]);
  const port = Number(new URL(first.url).port);
  // A second command on the same data folder shares the running server instead of starting one.
  const shared = await startEmbeddedPostgres(dataDir);
  expect(Number(new URL(shared.url).port)).toBe(port);
  await shared.stop();
  expect(await portOpen(port)).toBe(true);
  await first.close();
  expect(await portOpen(port)).toBe(false);

  const second = await openDatabase(config);
  try {
    expect(second.applied).toEqual([]);
    const { rows } = await second.db.query('select user_principal_name from users');
    expect(rows).toEqual([{ user_principal_name: 'kept@contoso.com' }]);
  } finally {
    await second.close();
  }
});

test('configuration is validated and frozen', () => {
  expect(() => loadConfig({ DSR_PORT: 'x' })).toThrow(/DSR_PORT/);
  expect(() => loadConfig({ DSR_CLOUD: 'mars' })).toThrow(/DSR_CLOUD/);
  expect(() => loadConfig({ DSR_AUTH_ISSUER: 'https://login.example/x' })).toThrow(/DSR_AUTH_AUDIENCE/);
  const config = loadConfig({ DSR_SAS_MIN_VALIDITY: '90m', DSR_STORAGE_ALLOW: 'http://127.0.0.1:10000/, https://x.example' });
  expect(config.sasMinValiditySeconds).toBe(5400);
  expect(config.storageAllow).toEqual(['http://127.0.0.1:10000', 'https://x.example']);
  expect(Object.isFrozen(config.worker)).toBe(true);
});
