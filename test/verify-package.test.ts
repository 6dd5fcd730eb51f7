import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import type { Db } from '../src/db/pool.ts';
import { selectPackageSigningKeys } from '../src/db/queries/package-signing-keys.ts';
import { loadPackageSigner } from '../src/export/package-signature.ts';
import { verifyPackage, type VerifyProgress } from '../src/export/verify-package.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { queueExport, seedUser, waitForStatus } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

let db: Db;
let azurite: Azurite;
let worker: Worker;
const store = createLocalContentStore(await tempDir('dsr-verify-content-'));

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  azurite = await startAzurite();
  worker = await startWorker({ config: loadConfig({ DSR_STORAGE_ALLOW: azurite.origin }), db, contentStore: store, pollIntervalMs: 100 });
});

afterAll(async () => {
  await worker?.stop(500);
  await azurite?.stop();
  await db?.end();
});

async function exportedPackage(): Promise<string> {
  const user = await seedUser(db, store, {
    files: [
      { path: 'Docs/a.txt', body: Buffer.from('alpha') },
      { path: 'Docs/b.bin', body: Buffer.alloc(70_000, 7) },
    ],
    signIns: 2,
    activities: 4,
  });
  const sas = await createContainerSas(azurite, `verify-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  worker.wake();
  expect((await waitForStatus(db, op.id, ['complete', 'failed'])).status).toBe('complete');
  return sas;
}

test('an intact package verifies, with progress over every file', async () => {
  const sas = await exportedPackage();
  const progress: VerifyProgress[] = [];
  expect(await verifyPackage(sas, (p) => progress.push(p))).toEqual([]);
  const last = progress[progress.length - 1]!;
  expect(last.filesChecked).toBe(last.filesTotal);
  expect(last.bytesChecked).toBe(last.bytesTotal);
  expect(last.filesTotal).toBeGreaterThan(10);
});

test('the manifest is signed by a key the database publishes; another key set fails naming the signature', async () => {
  const sas = await exportedPackage();
  const published = { keys: await selectPackageSigningKeys(db) };
  let signedBy: string | undefined;
  expect(
    await verifyPackage(sas, undefined, {
      keys: published,
      onSigned: (kid) => {
        signedBy = kid;
      },
    }),
  ).toEqual([]);
  expect(published.keys.map((k) => k.kid)).toContain(signedBy);
  const stranger = await loadPackageSigner(await tempDir('dsr-verify-key-'));
  expect(await verifyPackage(sas, undefined, { keys: { keys: [stranger.publicJwk] } })).toEqual([
    {
      path: 'manifest.json.jws',
      kind: 'signatureInvalid',
      actual: 'signed with a key that is not in the key set',
    },
  ]);
});

test('verify reports a changed, a resized, a missing and an extra file', async () => {
  const sas = await exportedPackage();
  const container = new ContainerClient(sas);
  const same = Buffer.from('ALPHA');
  await container.getBlockBlobClient('OneDrive/Files/Docs/a.txt').upload(same, same.length);
  await container.getBlockBlobClient('Directory/User.json').upload('{}', 2);
  await container.deleteBlob('OneDrive/Activity.csv');
  await container.getBlockBlobClient('OneDrive/Files/extra.txt').upload('x', 1);
  const differences = await verifyPackage(sas);
  expect(differences).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ path: 'OneDrive/Files/Docs/a.txt', kind: 'sha256' }),
      expect.objectContaining({ path: 'Directory/User.json', kind: 'size', actual: 2 }),
      { path: 'OneDrive/Activity.csv', kind: 'missing' },
      { path: 'OneDrive/Files/extra.txt', kind: 'extra', actual: 1 },
    ]),
  );
  expect(differences).toHaveLength(4);
});

test('a container without manifest.json is reported as such', async () => {
  const sas = await createContainerSas(azurite, `nomanifest-${randomUUID().slice(0, 8)}`);
  expect(await verifyPackage(sas)).toEqual([{ path: 'manifest.json', kind: 'manifestMissing' }]);
});
