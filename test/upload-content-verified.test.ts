import { ContainerClient } from '@azure/storage-blob';
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { blobUrls, packageBlob } from '../src/export/package-target.ts';
import { ContentIntegrityError, uploadContentVerified, uploadStreamVerified } from '../src/export/upload-file.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { tempDir } from './support/harness.ts';

let azurite: Azurite;
let container: ContainerClient;
const store = createLocalContentStore(await tempDir('dsr-upload-verified-'));
const BLOCK = 64 * 1024;
const opts = () => ({
  contentType: 'application/octet-stream',
  retry: { tries: 1, baseMs: 1 },
  signal: new AbortController().signal,
  blockSize: BLOCK,
  parallelBlocks: 2,
});
const transport = { agent: new http.Agent({ keepAlive: true }), timeoutMs: 30_000 };
const blobOf = (name: string) => packageBlob(container, blobUrls(container.url), name, transport);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

beforeAll(async () => {
  azurite = await startAzurite();
  container = new ContainerClient(await createContainerSas(azurite, `verified-${randomUUID().slice(0, 8)}`));
});

afterAll(async () => {
  transport.agent.destroy();
  await azurite?.stop();
});

async function exists(name: string): Promise<boolean> {
  return container.getBlockBlobClient(name).exists();
}

test.each([
  ['empty', 0],
  ['small', 1000],
  ['exactly one block', BLOCK],
  ['several blocks', BLOCK * 5 + 123],
  ['a multiple of the block size', BLOCK * 3],
])("%s: read through the store's reader, verified, uploaded byte for byte", async (_what, size) => {
  const body = bytes(size, size);
  const { sha256 } = await store.put(Readable.from([body]));
  const name = `ok-${size}.bin`;
  let acked = 0;
  await uploadContentVerified(
    blobOf(name),
    await store.open!(sha256),
    { path: name, size, sha256 },
    {
      ...opts(),
      onBytes: (n) => {
        acked += n;
      },
    },
  );
  expect(await container.getBlockBlobClient(name).downloadToBuffer()).toEqual(body);
  expect(acked).toBe(size);
});

test.each([
  ['small, planned hash differs', 1000, 1000, false],
  ['small, body longer than planned', 1000, 999, false],
  ['small, body shorter than planned', 1000, 1001, false],
  ['one block planned, body a block longer', BLOCK * 2, BLOCK, false],
  ['large, planned hash differs', BLOCK * 3 + 5, BLOCK * 3 + 5, false],
  ['large, body longer than planned', BLOCK * 3 + 5, BLOCK * 2, false],
  ['large through a stream (stores without open)', BLOCK * 3 + 5, BLOCK * 3 + 5, true],
])('%s: ContentIntegrityError, nothing committed', async (_what, actualSize, plannedSize, viaStream) => {
  const body = bytes(actualSize, 7);
  const { sha256 } = await store.put(Readable.from([body]));
  const planned = plannedSize === actualSize ? sha(Buffer.concat([body.subarray(1), Buffer.from([0])])) : sha256;
  const name = `bad-${randomUUID().slice(0, 8)}.bin`;
  const expected = { path: name, size: plannedSize, sha256: planned };
  const blob = blobOf(name);
  const upload = viaStream
    ? uploadStreamVerified(blob, await store.get(sha256), expected, opts())
    : uploadContentVerified(blob, await store.open!(sha256), expected, opts());
  const err = await upload.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ContentIntegrityError);
  expect(String((err as Error).message)).toContain(`${actualSize} bytes`);
  expect(await exists(name)).toBe(false);
});
