import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { loadLocalIssuer, tokenClaims, type LocalIssuer } from '../../src/auth/local-issuer.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { createContentStore } from '../../src/content/create-content-store.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPool, type Db } from '../../src/db/pool.ts';
import type { AppDeps } from '../../src/http/app-deps.ts';

/** A fresh database on the run's embedded PostgreSQL, migrated. Close it with `db.end()`. */
export async function createTestDatabase(): Promise<{ db: Db; url: string }> {
  const serverUrl = inject('pgUrl');
  const name = `t_${randomUUID().replace(/-/g, '')}`;
  const admin = createPool(serverUrl, 1);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = serverUrl.replace(/\/postgres$/, `/${name}`);
  const db = createPool(url);
  await migrate(db);
  return { db, url };
}

export async function tempDir(prefix = 'dsr-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export const PUBLIC_URL = 'http://dsr.test';

export interface TestApp {
  app: FastifyInstance;
  deps: AppDeps;
  db: Db;
  dbUrl: string;
  config: Config;
  issuer: LocalIssuer;
  dataDir: string;
  /** Application token of `tenant` with these roles. */
  appToken(tenant: string, roles: string[], extra?: Record<string, unknown>): Promise<string>;
  /** Delegated token of user `oid` in `tenant`. */
  userToken(tenant: string, oid: string, scopes: string[], admin: boolean): Promise<string>;
  close(): Promise<void>;
}

/** The app on a fresh database, with a local issuer in a temp data folder. */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const { db, url } = await createTestDatabase();
  const dataDir = await tempDir();
  const config = loadConfig({ DSR_DATA_DIR: dataDir, DSR_PUBLIC_URL: PUBLIC_URL, DSR_STORAGE_ALLOW: 'http://127.0.0.1:10000', ...env });
  const issuer = await loadLocalIssuer(dataDir);
  const deps: AppDeps = {
    config,
    db,
    localIssuer: config.auth.localIssuer ? issuer : undefined,
    logger: undefined,
    contentStore: createContentStore(config),
    verifier: createTokenVerifier(config, issuer),
    clock: () => new Date(),
    publicUrl: () => PUBLIC_URL,
    draining: () => false,
  };
  const app = await buildApp(deps);
  return {
    app,
    deps,
    db,
    dbUrl: url,
    config,
    issuer,
    dataDir,
    appToken: (tenant, roles, extra = {}) => issuer.sign({ ...tokenClaims({ tenant, app: { id: randomUUID(), roles } }), ...extra }, 3600),
    userToken: (tenant, oid, scopes, admin) => issuer.sign(tokenClaims({ tenant, user: { id: oid, scopes, admin } }), 3600),
    close: async () => {
      await app.close();
      await db.end();
    },
  };
}

/** A container SAS URL that passes every storage-location rule (docs/architecture.md#storage-location-rules; nothing is contacted at the POST). */
export function fakeSasUrl(container = `c${randomUUID().slice(0, 8)}`, opts: { sp?: string; expiresInSeconds?: number } = {}): string {
  const se = new Date(Date.now() + (opts.expiresInSeconds ?? 7200) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `https://acct.blob.core.windows.net/${container}?sv=2025-05-05&sr=c&sp=${opts.sp ?? 'racwl'}&se=${se}&sig=c2VjcmV0LXNpZw%3D%3D`;
}
