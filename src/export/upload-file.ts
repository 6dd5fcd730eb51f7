import type { BlockBlobClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransientStorageError, type StorageErrorLike } from '../domain/export-failure.ts';

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
      const blocked = (err as { code?: string }).code === 'EBLOCKEDADDRESS' || /EBLOCKEDADDRESS|resolves to .* a loopback/.test(String((err as Error).message));
      if (attempt >= retry.tries || blocked || isAbort(err, signal) || !isTransientStorageError(storageErrorFacts(err))) throw err;
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
  constructor(readonly path: string, expected: { size: number; sha256: string }, actual: { size: number; sha256: string }) {
    super(`content of ${path} does not match the plan: expected ${expected.size} bytes with SHA-256 ${expected.sha256}, `
      + `the content store gave ${actual.size} bytes with SHA-256 ${actual.sha256}`);
    this.name = 'ContentIntegrityError';
  }
}

export interface UploadOptions {
  readonly contentType: string;
  readonly retry: RequestRetry;
  readonly signal: AbortSignal;
  /** Called with every chunk of bytes the storage has acknowledged. */
  readonly onBytes?: (n: number) => void;
}

/** A small file already in memory (metadata rendered at plan time). `ifNoneMatch` for RequestInfo.json. */
export async function uploadBuffer(blob: BlockBlobClient, body: Buffer, opts: UploadOptions & { ifNoneMatch?: boolean }): Promise<void> {
  await withRequestRetry(() => blob.upload(body, body.length, {
    blobHTTPHeaders: { blobContentType: opts.contentType },
    ...(opts.ifNoneMatch ? { conditions: { ifNoneMatch: '*' } } : {}),
    abortSignal: opts.signal,
  }), opts.retry, opts.signal);
  opts.onBytes?.(body.length);
}

/** Block ids must all have the same length within a blob; 8 digits allow 10^8 blocks. */
function blockId(i: number): string {
  return Buffer.from(`block-${String(i).padStart(8, '0')}`).toString('base64');
}

/**
 * Streams a content-store body into a block blob: blocks of `blockSize` are staged while the
 * SHA-256 is computed, at most `parallelBlocks` in flight (memory ≈ blockSize × (parallel + 1)
 * whatever the file size), and the block list is committed only when size and hash equal the
 * plan, so a corrupt body never becomes a blob. A body of one block goes up in one request.
 */
export async function uploadStreamVerified(
  blob: BlockBlobClient,
  source: Readable,
  expected: { path: string; size: number; sha256: string },
  opts: UploadOptions & { blockSize: number; parallelBlocks: number },
): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const stage = (block: Buffer) => {
    const id = blockId(index++);
    ids.push(id);
    const p = withRequestRetry(() => blob.stageBlock(id, block, block.length, { abortSignal: opts.signal }), opts.retry, opts.signal)
      .then(() => opts.onBytes?.(block.length), (err: unknown) => { failure ??= err; })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const onAbort = () => source.destroy();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  const chunks = (async function* () {
    try {
      yield* source as AsyncIterable<Buffer>;
    } catch (err) {
      if (opts.signal.aborted) throw err;
      throw new ContentReadError(err);
    }
  })();
  try {
    for await (const chunk of chunks) {
      if (failure) throw failure;
      hash.update(chunk);
      size += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= opts.blockSize) {
        const all = Buffer.concat(pending, pendingBytes);
        stage(all.subarray(0, opts.blockSize));
        pending = pendingBytes > opts.blockSize ? [all.subarray(opts.blockSize)] : [];
        pendingBytes -= opts.blockSize;
        while (inFlight.size >= opts.parallelBlocks) await Promise.race(inFlight);
        if (failure) throw failure;
      }
    }
    opts.signal.throwIfAborted();
    const actual = { size, sha256: hash.digest('hex') };
    if (actual.size !== expected.size || actual.sha256 !== expected.sha256) {
      await Promise.allSettled(inFlight);
      throw new ContentIntegrityError(expected.path, expected, actual);
    }
    const rest = Buffer.concat(pending, pendingBytes);
    if (index === 0) {
      await uploadBuffer(blob, rest, opts);
      return;
    }
    if (rest.length > 0) stage(rest);
    await Promise.all(inFlight);
    if (failure) throw failure;
    await withRequestRetry(() => blob.commitBlockList(ids, {
      blobHTTPHeaders: { blobContentType: opts.contentType }, abortSignal: opts.signal,
    }), opts.retry, opts.signal);
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    source.destroy();
    await Promise.allSettled(inFlight);
  }
}
