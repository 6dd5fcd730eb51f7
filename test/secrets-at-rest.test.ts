import { randomBytes, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createSecretKeys, loadSecretKeys, SecretKeyError } from '../src/secrets/secret-keys.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { seedUser, waitForStatus } from './support/export-fixtures.ts';
import { createTestApp, tempDir, type TestApp } from './support/harness.ts';

describe('sealed secrets', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);

  it('open what was sealed, only for the row it is bound to, and only unaltered', () => {
    const keys = createSecretKeys([a]);
    const sealed = keys.seal('https://x/c?sig=abc', 'row-1');
    expect(sealed).not.toContain('abc');
    expect(sealed.startsWith(`dsr1.${keys.sealingKeyId}.`)).toBe(true);
    expect(keys.open(sealed, 'row-1')).toBe('https://x/c?sig=abc');
    expect(() => keys.open(sealed, 'row-2')).toThrow(SecretKeyError);
    const parts = sealed.split('.');
    parts[3] = Buffer.from('x'.repeat(Buffer.from(parts[3]!, 'base64url').length)).toString('base64url');
    expect(() => keys.open(parts.join('.'), 'row-1')).toThrow(SecretKeyError);
    expect(() => keys.open('https://x/c?sig=abc', 'row-1')).toThrow(SecretKeyError);
  });

  it('rotation: the new key seals, the old one listed after it still opens, a dropped key does not', () => {
    const old = createSecretKeys([a]).seal('secret', 'r');
    const rotated = createSecretKeys([b, a]);
    expect(rotated.open(old, 'r')).toBe('secret');
    expect(rotated.seal('secret', 'r').split('.')[1]).toBe(createSecretKeys([b]).sealingKeyId);
    expect(() => createSecretKeys([b]).open(old, 'r')).toThrow(/not configured/);
  });

  it('DSR_SECRET_KEY wins over the key file; a key of the wrong size is refused', async () => {
    const dataDir = await tempDir();
    const fromEnv = await loadSecretKeys(loadConfig({ DSR_DATA_DIR: dataDir, DSR_SECRET_KEY: `${b.toString('base64')},${a.toString('base64')}` }));
    expect(fromEnv.sealingKeyId).toBe(createSecretKeys([b]).sealingKeyId);
    await expect(loadSecretKeys(loadConfig({ DSR_DATA_DIR: dataDir, DSR_SECRET_KEY: 'c2hvcnQ=' }))).rejects.toThrow(/32 bytes/);
  });

  it('without DSR_SECRET_KEY: a key file in the data folder, private, created once and reused', async () => {
    const dataDir = await tempDir();
    const config = loadConfig({ DSR_DATA_DIR: dataDir });
    const first = await loadSecretKeys(config);
    const again = await loadSecretKeys(config);
    expect(again.sealingKeyId).toBe(first.sealingKeyId);
    expect(again.open(first.seal('s', 'r'), 'r')).toBe('s');
    expect((await stat(path.join(dataDir, 'keys', 'secret-key'))).mode & 0o077).toBe(0);
  });
});

describe('the SAS of a queued export at rest', () => {
  let t: TestApp;
  let azurite: Azurite;
  let worker: Worker | undefined;
  let store: ReturnType<typeof createLocalContentStore>;

  beforeAll(async () => {
    store = createLocalContentStore(await tempDir('dsr-secrets-content-'));
    azurite = await startAzurite();
    t = await createTestApp({ DSR_STORAGE_ALLOW: azurite.origin });
  });
  afterAll(async () => {
    await worker?.stop(1000);
    await t?.close();
    await azurite?.stop();
  });

  it('the database holds no signature while the export waits, and the export still completes', async () => {
    const tenant = randomUUID();
    const user = await seedUser(t.db, store, { tenantId: tenant, files: [{ path: 'a.txt', body: Buffer.from('hello') }] });
    const sas = await createContainerSas(azurite, `sealed-${randomUUID().slice(0, 8)}`);
    const sig = new URL(sas).searchParams.get('sig')!;
    const token = await t.appToken(tenant, ['User.Export.All']);
    const post = await t.app.inject({
      method: 'POST',
      url: `/v1.0/users/${user.userId}/exportPersonalData`,
      headers: { authorization: `Bearer ${token}` },
      payload: { storageLocation: sas },
    });
    expect(post.statusCode).toBe(202);
    const id = post.headers.location!.split('/').pop()!;

    // Read back as a database dump would: another client, the whole row as text.
    const reader = new pg.Client({ connectionString: t.dbUrl });
    await reader.connect();
    try {
      const { rows } = await reader.query('select row_to_json(o)::text as json, storage_location from data_policy_operations o where id = $1', [id]);
      const text = rows[0].json as string;
      for (const form of [sig, encodeURIComponent(sig), Buffer.from(sig, 'base64').toString('hex')]) expect(text).not.toContain(form);
      expect(text).not.toMatch(/sig=(?!REDACTED)/);
      expect(rows[0].storage_location).toBe(sas.replace(/([?&]sig=)[^&]+/, '$1REDACTED'));
    } finally {
      await reader.end();
    }

    worker = await startWorker({ config: t.config, db: t.db, contentStore: store, pollIntervalMs: 100 });
    const done = await waitForStatus(t.db, id, ['complete', 'failed']);
    expect([done.status, done.error_message]).toEqual(['complete', null]);
    expect(done.storage_location_sealed).toBeNull();
    expect(await verifyPackage(sas)).toEqual([]);
  });
});
