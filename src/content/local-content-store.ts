import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { close as closeFdCallback, closeSync, open as openFdCallback, openSync, read as readFdCallback, readSync } from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, open, opendir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertSha256,
  assertStagingKey,
  ContentLengthError,
  ContentNotFoundError,
  SHA256_HEX,
  type ContentStore,
  type StoredContent,
} from './content-store.ts';
import { HashingMeter, hashStoredBody } from './hashing-meter.ts';

/**
 * Content in a local folder:
 *   <root>/ab/cd/<sha256>   the bytes, named by their hash (two fan-out levels keep folders small)
 *   <root>/tmp/<uuid>       a body being written; renamed into place only when complete and synced
 *   <root>/staging/<key>    an upload session's file, written fragment by fragment at its offsets
 * tmp and staging live under the root so that the final rename stays on one filesystem (atomic).
 */
const openFd = promisify(openFdCallback);
/** Bodies up to this size (by the caller's plan) are read with synchronous calls; see `open`. */
const SMALL_READ_BYTES = 64 * 1024;
const closeFd = promisify(closeFdCallback);
function readFd(fd: number, into: Buffer, offset: number, length: number, position: null): Promise<{ bytesRead: number }> {
  return new Promise((resolve, reject) => {
    readFdCallback(fd, into, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead })));
  });
}

const FAN_OUT = /^[0-9a-f]{2}$/;

/** Entries of a folder whose names match, one at a time (opendir streams; readdir would hold them all). */
async function* entries(dir: string, name: RegExp): AsyncIterable<{ file: string; modified: Date }> {
  const handle = await opendir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!handle) return;
  for await (const entry of handle) {
    if (!name.test(entry.name)) continue;
    const file = path.join(dir, entry.name);
    // Gone meanwhile (collected, published or discarded): nothing to report.
    const modified = await stat(file).then(
      (s) => s.mtime,
      () => undefined,
    );
    if (modified) yield { file, modified };
  }
}

export function createLocalContentStore(root: string): ContentStore {
  const tmpDir = path.join(root, 'tmp');
  const stagingDir = path.join(root, 'staging');
  const fileOf = (sha256: string) => path.join(root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  const stagingFileOf = (key: string) => {
    assertStagingKey(key);
    return path.join(stagingDir, key);
  };

  /** Moves a complete, synced file to its hash name. Same bytes under the same name: replacing is harmless. */
  async function publish(file: string, sha256: string): Promise<void> {
    const target = fileOf(sha256);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(file, target);
  }

  /** Hashes a file already on disk (upload sessions: fragments may come through different processes). */

  return {
    async put(body: Readable, opts: { maxBytes?: number } = {}): Promise<StoredContent> {
      await mkdir(tmpDir, { recursive: true });
      const tmp = path.join(tmpDir, randomUUID());
      const meter = new HashingMeter(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
      // flush: fsync before the stream closes, so after a crash the hash name (set by the rename
      // below) holds all the bytes or does not exist.
      const out = createWriteStream(tmp, { mode: 0o600, flush: true });
      try {
        await pipeline(body, meter, out);
        const sha256 = meter.digest();
        await publish(tmp, sha256);
        return { sha256, size: meter.bytes, quickXorHash: meter.quickXorHash() };
      } catch (err) {
        // A body refused early (over maxBytes) can fail the pipeline before the file is even
        // open; wait for the stream to close, or the file would appear after the rm below.
        if (!out.closed) await once(out, 'close').catch(() => undefined);
        await rm(tmp, { force: true });
        throw err;
      }
    },

    async get(sha256, range) {
      assertSha256(sha256);
      // Opened before returning so that a missing file is an error here, not in the middle of a response.
      const handle = await open(fileOf(sha256), 'r').catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT' ? new ContentNotFoundError(sha256) : err;
      });
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    },

    async open(sha256, opts) {
      assertSha256(sha256);
      const missing = (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? new ContentNotFoundError(sha256) : err);
      if ((opts?.size ?? Infinity) <= SMALL_READ_BYTES) {
        // A small body is read on the main thread: open, a read or two and close of a few KiB
        // in the page cache take microseconds, while each one through the thread pool costs a
        // wake-up and a callback, about a third of the worker's CPU on thousands of small files.
        let fd: number;
        try {
          fd = openSync(fileOf(sha256), 'r');
        } catch (err) {
          throw missing(err as NodeJS.ErrnoException);
        }
        let closed = false;
        return {
          read: (into, offset, length) => Promise.resolve(readSync(fd, into, offset, length, null)),
          close: () => {
            if (!closed) closeSync(fd);
            closed = true;
            return Promise.resolve();
          },
        };
      }
      // Plain file descriptors, not a FileHandle: exports open thousands of small files, and a
      // FileHandle's setup and finalisation cost ~0.5 ms of main-thread time per file.
      const fd = await openFd(fileOf(sha256), 'r').catch((err: NodeJS.ErrnoException) => {
        throw missing(err);
      });
      let closed: Promise<void> | undefined;
      return {
        // position null: from the current offset, so sequential reads need no bookkeeping here.
        read: async (into, offset, length) => (await readFd(fd, into, offset, length, null)).bytesRead,
        close: () => (closed ??= closeFd(fd)),
      };
    },

    async has(sha256) {
      assertSha256(sha256);
      return stat(fileOf(sha256)).then(
        () => true,
        () => false,
      );
    },

    async delete(sha256) {
      assertSha256(sha256);
      await rm(fileOf(sha256), { force: true });
    },

    async sweepTemporary(olderThan) {
      const names = await readdir(tmpDir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      let removed = 0;
      for (const name of names) {
        const file = path.join(tmpDir, name);
        // Gone meanwhile (its put finished and renamed it): nothing to do.
        const modified = await stat(file).then(
          (s) => s.mtime,
          () => undefined,
        );
        if (modified === undefined || modified >= olderThan) continue;
        await rm(file, { force: true });
        removed++;
      }
      return removed;
    },

    async *listContent() {
      for await (const first of entries(root, FAN_OUT)) {
        for await (const second of entries(first.file, FAN_OUT)) {
          for await (const body of entries(second.file, SHA256_HEX)) yield { sha256: path.basename(body.file), modified: body.modified };
        }
      }
    },

    async *listStaging() {
      for await (const staged of entries(stagingDir, /^[A-Za-z0-9-]{1,64}$/)) yield { key: path.basename(staged.file), modified: staged.modified };
    },

    async stagePart(key, offset, body, length) {
      const file = stagingFileOf(key);
      await mkdir(stagingDir, { recursive: true });
      // One file per session, written in place: a fragment that dies half-way leaves bytes past the
      // session's committed offset, and the retry of that fragment simply overwrites them.
      const exists = await stat(file).then(
        () => true,
        () => false,
      );
      const meter = new HashingMeter({ exactBytes: length });
      // r+ writes at `start` without truncating; flush: the session row is updated only after
      // this resolves, so an acknowledged fragment is on disk and survives a crash.
      await pipeline(body, meter, createWriteStream(file, { flags: exists ? 'r+' : 'w', start: offset, mode: 0o600, flush: true }));
      return [];
    },

    async commitStaged(key, _parts, size) {
      const file = stagingFileOf(key);
      const actual = await stat(file).then(
        (s) => s.size,
        () => 0,
      );
      if (actual < size) throw new ContentLengthError(size, actual);
      const handle = await open(file, 'r+');
      try {
        // Bytes of an abandoned longer fragment may sit past the end.
        await handle.truncate(size);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const hashes = await hashStoredBody(createReadStream(file), size);
      await publish(file, hashes.sha256);
      return { ...hashes, size };
    },

    async discardStaged(key) {
      await unlink(stagingFileOf(key)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}
