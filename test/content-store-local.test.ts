import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ContentStore } from '../src/content/content-store.ts';
import { createContentStore } from '../src/content/create-content-store.ts';
import { tempDir } from './support/harness.ts';
import { chunked, contentStoreContract } from './support/content-store-contract.ts';
import { sha256Hex, testBytes } from './support/drive-helpers.ts';

let dir: string;
let store: ContentStore;
beforeAll(async () => {
  dir = await tempDir('dsr-content-');
  store = createContentStore({ dataDir: dir, contentStore: undefined });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

contentStoreContract(() => store);

test('bytes live at <dataDir>/content/ab/cd/<sha256>; no temporary file is left behind', async () => {
  const data = testBytes(10_000, 3);
  const { sha256 } = await store.put(chunked(data));
  expect(sha256).toBe(sha256Hex(data));
  expect(existsSync(path.join(dir, 'content', sha256.slice(0, 2), sha256.slice(2, 4), sha256))).toBe(true);
  await expect(store.put(chunked(data), { maxBytes: 10 })).rejects.toThrow();
  expect(await readdir(path.join(dir, 'content', 'tmp'))).toEqual([]);
});

test('while a body is being written only a temporary file exists; the hash name appears whole', async () => {
  const data = testBytes(1024 * 1024, 44);
  const sha = sha256Hex(data);
  const target = path.join(dir, 'content', sha.slice(0, 2), sha.slice(2, 4), sha);
  const body = new PassThrough();
  const putting = store.put(body);
  body.write(data.subarray(0, 512 * 1024));
  const tmp = path.join(dir, 'content', 'tmp');
  const deadline = Date.now() + 5000;
  const tmpBytes = async () => {
    const names = await readdir(tmp).catch(() => []);
    const sizes = await Promise.all(
      names.map((n) =>
        stat(path.join(tmp, n)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return sizes.reduce((a, b) => a + b, 0);
  };
  while ((await tmpBytes()) === 0) {
    if (Date.now() > deadline) throw new Error('nothing reached the temporary file');
    await new Promise((r) => setImmediate(r));
  }
  expect(existsSync(target)).toBe(false);
  body.end(data.subarray(512 * 1024));
  await putting;
  expect((await stat(target)).size).toBe(data.length);
});

test('local:<folder> selects a folder explicitly', async () => {
  const other = createContentStore({ dataDir: dir, contentStore: `local:${path.join(dir, 'elsewhere')}` });
  const { sha256 } = await other.put(chunked(Buffer.from('x')));
  expect(existsSync(path.join(dir, 'elsewhere', sha256.slice(0, 2), sha256.slice(2, 4), sha256))).toBe(true);
});

test('open reads a body whole into the caller buffers, small (read on the main thread) or not, and names a missing one', async () => {
  const { ContentNotFoundError } = await import('../src/content/content-store.ts');
  for (const size of [5, 8 * 1024, 64 * 1024, 64 * 1024 + 1, 300_000]) {
    const data = testBytes(size, size % 251);
    const { sha256 } = await store.put(chunked(data));
    for (const opts of [{ size }, undefined]) {
      const reader = await store.open!(sha256, opts);
      // One byte more than the body, read in pieces of 5,000 bytes: the last read says the end.
      const into = Buffer.alloc(size + 1);
      let filled = 0;
      for (let n; (n = await reader.read(into, filled, Math.min(5000, into.length - filled))) > 0;) filled += n;
      await reader.close();
      await reader.close();
      expect(filled).toBe(size);
      expect(into.subarray(0, filled).equals(data)).toBe(true);
    }
  }
  const absent = sha256Hex(Buffer.from('never stored'));
  await expect(store.open!(absent, { size: 12 })).rejects.toBeInstanceOf(ContentNotFoundError);
  await expect(store.open!(absent)).rejects.toBeInstanceOf(ContentNotFoundError);
});
