import { Readable } from 'node:stream';
import { expect, test } from 'vitest';
import { ContentLengthError, ContentNotFoundError, ContentTooLargeError, type ContentStore } from '../../src/content/content-store.ts';
import { sha256Hex, testBytes } from './drive-helpers.ts';
import { QuickXorHash } from '../../src/content/quick-xor-hash.ts';

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A body produced piece by piece, like a request stream. */
export function chunked(data: Buffer, piece = 64 * 1024): Readable {
  let at = 0;
  return new Readable({
    read() {
      if (at >= data.length) return void this.push(null);
      this.push(data.subarray(at, at + piece));
      at += piece;
    },
  });
}

/** Behaviour both stores must share (the export worker relies on get and has only). */
export function contentStoreContract(store: () => ContentStore): void {
  test('put hashes while streaming; get, ranges, has and delete', async () => {
    const data = testBytes(3 * 1024 * 1024 + 17, 5);
    const stored = await store().put(chunked(data));
    expect(stored).toEqual({ sha256: sha256Hex(data), size: data.length, quickXorHash: new QuickXorHash().update(data).digest() });
    expect(await store().has(stored.sha256)).toBe(true);
    expect((await readAll(await store().get(stored.sha256))).equals(data)).toBe(true);
    expect((await readAll(await store().get(stored.sha256, { start: 10, end: 19 }))).equals(data.subarray(10, 20))).toBe(true);
    // Same content again: same key, still readable.
    expect(await store().put(chunked(data, 1000))).toEqual(stored);
    await store().delete(stored.sha256);
    expect(await store().has(stored.sha256)).toBe(false);
    await expect(store().get(stored.sha256)).rejects.toBeInstanceOf(ContentNotFoundError);
    await store().delete(stored.sha256);
  });

  test('the empty body is content too', async () => {
    const stored = await store().put(Readable.from([]));
    expect(stored).toEqual({ sha256: sha256Hex(Buffer.alloc(0)), size: 0, quickXorHash: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    expect((await readAll(await store().get(stored.sha256))).length).toBe(0);
  });

  test('maxBytes stops a body as soon as it is passed and stores nothing', async () => {
    const data = testBytes(200_000, 8);
    await expect(store().put(chunked(data, 10_000), { maxBytes: 100_000 })).rejects.toBeInstanceOf(ContentTooLargeError);
    expect(await store().has(sha256Hex(data))).toBe(false);
  });

  test('a body that fails half-way stores nothing', async () => {
    const data = testBytes(100_000, 12);
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent >= 50_000) return void this.destroy(new Error('connection reset'));
        this.push(data.subarray(sent, sent + 10_000));
        sent += 10_000;
      },
    });
    await expect(store().put(failing)).rejects.toThrow('connection reset');
    expect(await store().has(sha256Hex(data))).toBe(false);
  });

  test('staged parts commit to content; a short fragment is refused and redone', async () => {
    const data = testBytes(2 * 1024 * 1024 + 99, 21);
    const key = `s${Date.now()}`;
    const parts: string[] = [];
    const a = 1024 * 1024;
    parts.push(...(await store().stagePart(key, 0, chunked(data.subarray(0, a)), a)));
    // A fragment that arrives short (the connection dropped) is rejected and not kept.
    await expect(store().stagePart(key, a, chunked(data.subarray(a, a + 1000)), data.length - a)).rejects.toBeInstanceOf(ContentLengthError);
    parts.push(...(await store().stagePart(key, a, chunked(data.subarray(a)), data.length - a)));
    const stored = await store().commitStaged(key, parts, data.length);
    expect(stored).toEqual({ sha256: sha256Hex(data), size: data.length, quickXorHash: new QuickXorHash().update(data).digest() });
    expect((await readAll(await store().get(stored.sha256))).equals(data)).toBe(true);
    await store().discardStaged(key);
  });

  test('listContent streams every stored body with when it was written; deleted ones are gone', async () => {
    const before = Date.now() - 60_000;
    const { sha256 } = await store().put(chunked(testBytes(1000, 31)));
    const listed = async () => {
      const found = new Map<string, Date>();
      for await (const body of store().listContent()) found.set(body.sha256, body.modified);
      return found;
    };
    const first = await listed();
    expect(first.get(sha256)?.getTime()).toBeGreaterThan(before);
    for (const name of first.keys()) expect(name).toMatch(/^[0-9a-f]{64}$/);
    await store().delete(sha256);
    expect((await listed()).has(sha256)).toBe(false);
  });

  test('discarding staging that does not exist is not an error', async () => {
    await store().discardStaged('never-staged');
  });

  test('keys that are not hashes are refused', async () => {
    await expect(store().has('../../etc/passwd')).rejects.toThrow();
  });
}
