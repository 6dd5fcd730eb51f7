import { ContainerClient } from '@azure/storage-blob';
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createContentStore } from '../src/content/create-content-store.ts';
import type { ContentStore } from '../src/content/content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { killAllChildren, leaseOwnerOf, startWorkerProcess } from '../bench/support/processes.ts';
import { runCli } from './support/cli.ts';
import { operationRow, queueExport, waitFor, waitForStatus } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
import { seedHeavySubject } from './support/heavy-seed.ts';

// A `dsr-export worker` process SIGKILLed while two things happen at once: a large record section
// (30,000 sign-ins, then 20,000 drive events) streams into the content store's tmp/, and the
// drive's files, planned before it, are uploading (one lane, so 400 of them outlast the render's
// start). A second worker process takes the export over after the 3 s lease, renders a fresh
// snapshot, and completes; `dsr-export verify` passes with the signing key, and every blob of the
// container is byte for byte what the manifest lists.

const SIGN_INS = 30_000;
const DRIVE_EVENTS = 20_000;
const DRIVE_FILES = 400;

let db: Db;
let dbUrl: string;
let dataDir: string;
let store: ContentStore;
let azurite: Azurite;

beforeAll(async () => {
  ({ db, url: dbUrl } = await createTestDatabase());
  dataDir = await tempDir('dsr-crash-render-');
  // The worker processes' store: DSR_DATA_DIR/content.
  store = createContentStore({ contentStore: undefined, dataDir });
  azurite = await startAzurite();
});

afterAll(async () => {
  await killAllChildren();
  await azurite?.stop();
  await db?.end();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function workerEnv(): Record<string, string> {
  // DSR_UPLOAD_CONCURRENCY 1: the drive's files take longer to upload than the render takes to
  // reach its first large section, so both are under way at the kill.
  return { DSR_DATABASE_URL: dbUrl, DSR_DATA_DIR: dataDir, DSR_LEASE_SECONDS: '3', DSR_STORAGE_ALLOW: azurite.origin, DSR_UPLOAD_CONCURRENCY: '1' };
}

interface Moment {
  status: string;
  planned: string | null;
  filesDone: number;
  filesLeft: number;
  rendering: boolean;
}

/** The export as the kill sees it: its plan (not fixed yet), its drive files uploaded and not, a section streaming into tmp/. */
async function moment(operationId: string): Promise<Moment> {
  const { rows } = await db.query<Omit<Moment, 'rendering'>>(
    `select o.status, o.bytes_planned as planned,
            count(f.path) filter (where f.source = 'content' and f.done)::int as "filesDone",
            count(f.path) filter (where f.source = 'content' and not f.done)::int as "filesLeft"
       from data_policy_operations o left join export_files f on f.operation_id = o.id
      where o.id = $1 group by o.id`,
    [operationId],
  );
  const rendering = (await readdir(path.join(dataDir, 'content', 'tmp')).catch(() => [])).length > 0;
  return { ...rows[0]!, rendering };
}

/** Every blob of the container against manifest.json: the same names, sizes and SHA-256 (read back through the SDK). */
async function blobsMatchManifest(sas: string): Promise<void> {
  const container = new ContainerClient(sas);
  const manifest = JSON.parse((await container.getBlockBlobClient('manifest.json').downloadToBuffer()).toString('utf8')) as {
    files: { path: string; size: number; sha256: string }[];
  };
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const seen: string[] = [];
  for await (const blob of container.listBlobsFlat()) {
    if (blob.name === 'manifest.json' || blob.name === 'manifest.json.jws') continue;
    const entry = listed.get(blob.name);
    expect(entry, `${blob.name} is in the container but not in the manifest`).toBeDefined();
    const body = await container.getBlockBlobClient(blob.name).downloadToBuffer();
    expect({ path: blob.name, size: body.length, sha256: createHash('sha256').update(body).digest('hex') }).toEqual({
      path: entry!.path,
      size: entry!.size,
      sha256: entry!.sha256,
    });
    seen.push(blob.name);
  }
  expect(seen.sort()).toEqual([...listed.keys()].sort());
}

test('a worker SIGKILLed while a large section renders and drive files upload: a new worker completes it, verify passes, blobs match the manifest', async () => {
  const { subject } = await seedHeavySubject(db, store, {
    signIns: SIGN_INS,
    driveEvents: DRIVE_EVENTS,
    driveItems: DRIVE_FILES,
    files: 5,
    seed: randomUUID(),
  });
  const sas = await createContainerSas(azurite, `crash-render-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, subject, sas, [azurite.origin]);

  const first = await startWorkerProcess(workerEnv());
  const atKill = await waitFor(
    async () => {
      const m = await moment(op.id);
      return m.status === 'running' && m.planned === null && m.rendering && m.filesDone > 0 && m.filesLeft > 0 ? m : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 5, what: 'a large section rendering while drive files upload' },
  );
  first.kill('SIGKILL');
  expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
  // Killed in that window: the plan never got fixed, and drive files were left to upload.
  const after = await moment(op.id);
  expect(after.planned).toBeNull();
  expect(after.filesLeft).toBeGreaterThan(0);
  expect((await operationRow(db, op.id)).lease_owner).toMatch(leaseOwnerOf(first));

  const second = await startWorkerProcess(workerEnv());
  const done = await waitForStatus(db, op.id, ['complete', 'failed'], 150_000);
  expect(done.error_message ?? '').toBe('');
  expect(done.status).toBe('complete');
  expect(done.lease_owner ?? '').not.toMatch(leaseOwnerOf(first));

  // The package's signature with the public half of the workers' signing key, as a saved JWK.
  const jwk = JSON.parse(await readFile(path.join(dataDir, 'keys', 'package-signing.json'), 'utf8')) as Record<string, unknown>;
  delete jwk.d;
  const keyFile = path.join(dataDir, 'package-signing.public.json');
  await writeFile(keyFile, JSON.stringify(jwk));
  const verified = await runCli(['verify', sas, '--key', keyFile, '--json'], { DSR_DATA_DIR: dataDir });
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  await blobsMatchManifest(sas);
  second.kill('SIGTERM');
  await second.exited;
  console.info(
    `[crash render+files] SIGKILL with ${atKill.filesDone} of ${atKill.filesDone + atKill.filesLeft} planned drive files uploaded, a section rendering: complete and verified`,
  );
}, 240_000);
