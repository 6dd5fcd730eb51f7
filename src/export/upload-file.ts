import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContentReader } from '../content/content-store.ts';
import { isTransientStorageError, type StorageErrorLike } from '../domain/export-failure.ts';
import { isBlockedAddress } from './guarded-agent.ts';
import type { PackageBlob } from './package-target.ts';

/** The fields of a storage SDK error that the failure rules read. */
export function storageErrorFacts(err: unknown): StorageErrorLike {
  const e = err as { statusCode?: number; code?: string; message?: string; details?: { errorCode?: string } } | undefined;
  return { statusCode: e?.statusCode, code: e?.code, errorCode: e?.details?.errorCode, message: e?.message };
}

export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return (signal?.aborted ?? false) || (err as { name?: string } | undefined)?.name === 'AbortError';
}

export interface RequestRetry {
  /** Tries per request, the first included. */
  readonly tries: number;
  readonly baseMs: number;
  readonly onRetry?: (err: unknown) => void;
}

/**
 * Retries one storage request on transient errors (network, 408, 429, 5xx) with a short
 * exponential backoff (base, 2×base, …). What is still failing after `tries` goes to the
 * operation's own backoff, which resumes from checkpoints.
 */
export async function withRequestRetry<T>(fn: () => Promise<T>, retry: RequestRetry, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retry.tries || isBlockedAddress(err) || isAbort(err, signal) || !isTransientStorageError(storageErrorFacts(err))) throw err;
      retry.onRetry?.(err);
      await sleep(retry.baseMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2), undefined, signal ? { signal } : {});
    }
  }
}

/** Reading the body from the content store failed (not the customer's storage). */
export class ContentReadError extends Error {
  constructor(override readonly cause: unknown) {
    super(`reading from the content store failed: ${(cause as Error | undefined)?.message ?? String(cause)}`);
    this.name = 'ContentReadError';
  }
}

/** Bytes from the content store did not hash to the plan's sha256: never committed. */
export class ContentIntegrityError extends Error {
  constructor(
    readonly path: string,
    expected: { size: number; sha256: string },
    actual: { size: number; sha256: string },
  ) {
    super(
      `content of ${path} does not match the plan: expected ${expected.size} bytes with SHA-256 ${expected.sha256}, ` +
        `the content store gave ${actual.size} bytes with SHA-256 ${actual.sha256}`,
    );
    this.name = 'ContentIntegrityError';
  }
}

export interface UploadOptions {
  readonly contentType: string;
  /** `attachment` for drive files: a browser downloads them instead of rendering them. */
  readonly contentDisposition?: string;
  readonly retry: RequestRetry;
  readonly signal: AbortSignal;
  /** Called with every chunk of bytes the storage has acknowledged. */
  readonly onBytes?: (n: number) => void;
}

/** A body already in memory, in one Put Blob. `ifNoneMatch` for RequestInfo.json. */
export async function uploadBuffer(blob: PackageBlob, body: Buffer, opts: UploadOptions & { ifNoneMatch?: boolean }): Promise<void> {
  const request = { contentType: opts.contentType, contentDisposition: opts.contentDisposition, ifNoneMatch: opts.ifNoneMatch, signal: opts.signal };
  await withRequestRetry(() => blob.put(body, request), opts.retry, opts.signal);
  opts.onBytes?.(body.length);
}

/** Block ids must all have the same length within a blob; 8 digits allow 10^8 blocks. */
function blockId(i: number): string {
  return Buffer.from(`block-${String(i).padStart(8, '0')}`).toString('base64');
}

/** A content-store stream as a ContentReader (stores without `open`, e.g. the Azure one). */
export function readerFromStream(source: Readable): ContentReader {
  const chunks = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let rest: Buffer = Buffer.alloc(0);
  return {
    async read(into, offset, length) {
      if (rest.length === 0) {
        const next = await chunks.next();
        if (next.done) return 0;
        rest = next.value;
      }
      const n = rest.copy(into, offset, 0, Math.min(length, rest.length));
      rest = rest.subarray(n);
      return n;
    },
    async close() {
      source.destroy();
    },
  };
}

/** Fills `buf` from the reader (fewer bytes only at the end of the body); read errors are the content store's. */
async function fill(reader: ContentReader, buf: Buffer, signal: AbortSignal): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    let n: number;
    try {
      n = await reader.read(buf, filled, buf.length - filled);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new ContentReadError(err);
    }
    if (n === 0) break;
    filled += n;
  }
  signal.throwIfAborted();
  return filled;
}

/** Hashes and counts what is left of a body that is already longer than planned (for the error message). */
async function drainInto(reader: ContentReader, hash: Hash, signal: AbortSignal): Promise<number> {
  const scratch = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  for (let n; (n = await fill(reader, scratch, signal)) > 0; total += n) hash.update(scratch.subarray(0, n));
  return total;
}

/**
 * Uploads a content-store body to a block blob, verifying size and SHA-256 against the plan
 * before anything is committed, so a corrupt body never becomes a blob.
 *
 * - Up to one block (most files of a package, often a few KiB): read whole into one
 *   buffer of its planned size + 1 (the extra byte detects a longer body), hashed, then one Put
 *   Blob. Nothing reaches the storage before the hash matches.
 * - Larger: blocks of `blockSize` are read straight into `parallelBlocks + 1` reused buffers
 *   (`parallelBlocks` being staged, one filling: ≈12 MiB at 4 MiB × 2, whatever the file size),
 *   hashed as read, staged; the block list is committed only when size and hash match. Reused
 *   buffers keep the garbage flat: a fresh buffer per block would make a GiB of garbage per GiB
 *   exported.
 */
export async function uploadContentVerified(
  blob: PackageBlob,
  reader: ContentReader,
  expected: { path: string; size: number; sha256: string },
  opts: UploadOptions & { blockSize: number; parallelBlocks: number },
): Promise<void> {
  const { signal } = opts;
  const hash = createHash('sha256');
  const inFlight = new Set<Promise<void>>();
  // A pending read of a network stream ends only when the reader is closed.
  const onAbort = () => void reader.close().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (expected.size <= opts.blockSize) {
      const buf = Buffer.allocUnsafe(expected.size + 1);
      const n = await fill(reader, buf, signal);
      hash.update(buf.subarray(0, n));
      const size = n > expected.size ? n + (await drainInto(reader, hash, signal)) : n;
      // Closed while the request is in flight, not after it: a file close is a thread-pool round
      // trip, which adds up over the thousands of small files of a package.
      void reader.close().catch(() => undefined);
      const actual = { size, sha256: hash.digest('hex') };
      if (actual.size !== expected.size || actual.sha256 !== expected.sha256) throw new ContentIntegrityError(expected.path, expected, actual);
      await uploadBuffer(blob, buf.subarray(0, n), opts);
      return;
    }

    const pool: Buffer[] = [];
    const ids: string[] = [];
    let size = 0;
    // The first rejection of a staged block; a list, so that a falsy reason still counts.
    const failures: unknown[] = [];
    const stage = (buf: Buffer, n: number) => {
      const id = blockId(ids.length);
      ids.push(id);
      const block = n === buf.length ? buf : buf.subarray(0, n);
      // The buffer goes back to the pool only once its request has settled, retries included.
      const p = withRequestRetry(() => blob.client.stageBlock(id, block, n, { abortSignal: signal }), opts.retry, signal)
        .then(
          () => opts.onBytes?.(n),
          (err: unknown) => {
            failures.push(err);
          },
        )
        .finally(() => {
          inFlight.delete(p);
          pool.push(buf);
        });
      inFlight.add(p);
    };
    for (;;) {
      if (failures.length > 0) throw failures[0];
      const buf = pool.pop() ?? Buffer.allocUnsafe(opts.blockSize);
      const n = await fill(reader, buf, signal);
      hash.update(n === buf.length ? buf : buf.subarray(0, n));
      size += n;
      if (size > expected.size) {
        // Longer than planned: stage nothing more, the commit below will not happen.
        pool.push(buf);
        size += await drainInto(reader, hash, signal);
        break;
      }
      if (n === 0) {
        pool.push(buf);
        break;
      }
      // Read ahead: the next block is read and hashed while `parallelBlocks` are in flight, and
      // waits here for a slot (the pool's extra buffer); reading only after a slot freed would
      // leave the storage with one request while a block is read and hashed.
      while (inFlight.size >= opts.parallelBlocks) await Promise.race(inFlight);
      if (failures.length > 0) throw failures[0];
      stage(buf, n);
      if (n < buf.length) break;
    }
    const actual = { size, sha256: hash.digest('hex') };
    if (actual.size !== expected.size || actual.sha256 !== expected.sha256) {
      await Promise.allSettled(inFlight);
      throw new ContentIntegrityError(expected.path, expected, actual);
    }
    await Promise.all(inFlight);
    if (failures.length > 0) throw failures[0];
    await withRequestRetry(
      () =>
        blob.client.commitBlockList(ids, {
          blobHTTPHeaders: { blobContentType: opts.contentType, ...(opts.contentDisposition ? { blobContentDisposition: opts.contentDisposition } : {}) },
          abortSignal: signal,
        }),
      opts.retry,
      signal,
    );
  } finally {
    signal.removeEventListener('abort', onAbort);
    await Promise.allSettled(inFlight);
    await reader.close().catch(() => undefined);
  }
}

/** A content-store stream into a block blob, verified as uploadContentVerified does. */
export async function uploadStreamVerified(
  blob: PackageBlob,
  source: Readable,
  expected: { path: string; size: number; sha256: string },
  opts: UploadOptions & { blockSize: number; parallelBlocks: number },
): Promise<void> {
  await uploadContentVerified(blob, readerFromStream(source), expected, opts);
}
