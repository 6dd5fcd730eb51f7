import { BlockBlobClient, RestError } from '@azure/storage-blob';
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenClaims } from '../src/auth/local-issuer.ts';
import { loadConfig } from '../src/config.ts';
import { startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import type { PackageManifest } from '../src/export/render-package.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createLogger } from '../src/logger.ts';
import { seedTenant } from '../src/seed/seed-tenant.ts';
import { startServer, type RunningServer } from '../src/start/start-server.ts';
import { directorySasQuery, directorySasStandIn } from './support/directory-sas.ts';
import { startStorageProxy, waitFor } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

// An export into a directory SAS (sr=d): the package goes under the directory, nothing outside
// it, and reads back whole through a client of its own. The SAS is made by Azure's DataLake SDK.
// Azurite cannot check a directory SAS (first test), so the export goes through a storage proxy
// whose directory-SAS check is a stand-in for Azure's (test/support/directory-sas.ts).

const CONTAINER = `dirsas-${randomUUID().slice(0, 8)}`;
const DIRECTORY = 'privacy/case-0042';

let azurite: Azurite;
let proxy: Awaited<ReturnType<typeof startStorageProxy>>;
let server: RunningServer;
let auth: { authorization: string };
let subjectUpn: string;

beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.service.getContainerClient(CONTAINER).create();
  proxy = await startStorageProxy(azurite.origin, { authorize: await directorySasStandIn(azurite, CONTAINER, DIRECTORY) });
  const { url: databaseUrl } = await createTestDatabase();
  server = await startServer(
    loadConfig({
      DSR_DATA_DIR: await tempDir('dsr-dirsas-'),
      DSR_DATABASE_URL: databaseUrl,
      DSR_PORT: '0',
      DSR_LOG_LEVEL: 'warn',
      DSR_STORAGE_ALLOW: `${azurite.origin},${proxy.origin}`,
    }),
    { withWorker: true, logger: createLogger('warn') },
  );
  const seeded = await seedTenant({ db: server.db, contentStore: server.contentStore, users: 1, filesPerUser: 3, seed: randomUUID(), now: new Date() });
  subjectUpn = seeded.users[0]!.userPrincipalName;
  auth = {
    authorization: `Bearer ${await server.localIssuer!.sign(tokenClaims({ tenant: seeded.tenantId, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All'] } }), 3600)}`,
  };
}, 60_000);

afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await proxy?.close();
  await azurite?.stop();
});

async function exportTo(storageLocation: string): Promise<{ status: string; error?: { code: string; message: string } }> {
  const posted = await fetch(`${server.url}/v1.0/users/${encodeURIComponent(subjectUpn)}/exportPersonalData`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ storageLocation }),
  });
  expect(posted.status, await posted.clone().text()).toBe(202);
  const location = posted.headers.get('location')!;
  return waitFor(
    async () => {
      const op = (await (await fetch(location, { headers: auth })).json()) as { status: string; error?: { code: string; message: string } };
      return op.status === 'complete' || op.status === 'failed' ? op : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'the export to finish' },
  );
}

async function refusal(p: Promise<unknown>): Promise<{ status: number | undefined; code: string | undefined }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RestError);
  return { status: (err as RestError).statusCode, code: (err as RestError).code };
}

describe('an export through a directory SAS (sr=d)', () => {
  it('Azurite itself refuses a directory SAS, and an export into it fails as access denied, not stuck', async () => {
    const sas = `${azurite.accountUrl}/${CONTAINER}/${DIRECTORY}?${directorySasQuery(CONTAINER, DIRECTORY)}`;
    expect(new URL(sas).searchParams.get('sr')).toBe('d');
    expect(new URL(sas).searchParams.get('sdd')).toBe('2');
    expect(await refusal(new BlockBlobClient(sas.replace('?', '/probe.txt?')).upload('x', 1))).toEqual({ status: 403, code: 'AuthorizationFailure' });
    const op = await exportTo(sas);
    expect(op).toMatchObject({ status: 'failed', error: { code: 'StorageLocationAccessDenied' } });
  });

  it('the stand-in refuses what Azure would: a blob outside the directory, another directory, a forged signature', async () => {
    const query = directorySasQuery(CONTAINER, DIRECTORY);
    const base = `${proxy.origin}/devstoreaccount1/${CONTAINER}`;
    expect(await refusal(new BlockBlobClient(`${base}/outside.txt?${query}`).upload('x', 1))).toMatchObject({ status: 403 });
    expect(await refusal(new BlockBlobClient(`${base}/privacy/case-0043/x.txt?${query}`).upload('x', 1))).toMatchObject({ status: 403 });
    expect(await refusal(new BlockBlobClient(`${base}/${DIRECTORY}/x.txt?${directorySasQuery(CONTAINER, 'privacy/case-0043')}`).upload('x', 1))).toMatchObject({
      status: 403,
      code: 'AuthenticationFailed',
    });
    const forged = query.replace(/sig=[^&]+/, `sig=${encodeURIComponent(Buffer.alloc(32, 1).toString('base64'))}`);
    expect(await refusal(new BlockBlobClient(`${base}/${DIRECTORY}/x.txt?${forged}`).upload('x', 1))).toMatchObject({
      status: 403,
      code: 'AuthenticationFailed',
    });
    const listed = [];
    for await (const blob of azurite.service.getContainerClient(CONTAINER).listBlobsFlat()) listed.push(blob.name);
    expect(listed).toEqual([]);
  });

  it('writes the whole package under the directory and nothing outside it; an independent client reads it back and every checksum matches', async () => {
    const sas = `${proxy.origin}/devstoreaccount1/${CONTAINER}/${DIRECTORY}?${directorySasQuery(CONTAINER, DIRECTORY)}`;
    const op = await exportTo(sas);
    expect(op, JSON.stringify(op)).toMatchObject({ status: 'complete' });

    // Read with the account key straight from Azurite: neither the proxy nor the service's code.
    const container = azurite.service.getContainerClient(CONTAINER);
    const names: string[] = [];
    for await (const blob of container.listBlobsFlat()) names.push(blob.name);
    expect(names.filter((n) => !n.startsWith(`${DIRECTORY}/`))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining([`${DIRECTORY}/manifest.json`, `${DIRECTORY}/manifest.json.jws`, `${DIRECTORY}/RequestInfo.json`]));
    const manifest = JSON.parse((await container.getBlockBlobClient(`${DIRECTORY}/manifest.json`).downloadToBuffer()).toString('utf8')) as PackageManifest;
    expect(manifest.files.length).toBeGreaterThan(3);
    for (const file of manifest.files) {
      const body = await container.getBlockBlobClient(`${DIRECTORY}/${file.path}`).downloadToBuffer();
      expect(createHash('sha256').update(body).digest('hex'), file.path).toBe(file.sha256);
    }
    expect(names.sort()).toEqual(
      [...manifest.files.map((f) => `${DIRECTORY}/${f.path}`), `${DIRECTORY}/manifest.json`, `${DIRECTORY}/manifest.json.jws`].sort(),
    );

    // `dsr-export verify` through the same directory SAS lists and reads only inside it.
    expect(await verifyPackage(sas)).toEqual([]);
    expect(proxy.requests.filter((r) => !r.path.startsWith(`/devstoreaccount1/${CONTAINER}`))).toEqual([]);
  });
});
