import { inTransaction, type Db } from '../db/pool.ts';
import { deleteUnreferencedContentBlobs } from '../db/queries/content-blobs.ts';
import { deleteStaleUploadSessions } from '../db/queries/upload-sessions.ts';
import type { ContentStore } from './content-store.ts';
import { startPeriodicTask } from '../runtime/periodic-task.ts';

// An upload stores its bytes, then records the blob (touching created_at), then commits the drive
// change: seconds apart. An hour covers that with a wide margin, and export pins cover the rest.
export const DEFAULT_GRACE_SECONDS = 3600;
const BATCH = 100;

export interface GarbageCollected {
  blobsDeleted: number;
  sessionsRemoved: number;
  /** Half-written bodies a crash left in the store's tmp/. */
  temporaryRemoved: number;
}

/**
 * Removes content nobody needs any more: blobs that no drive item references, that no unfinished
 * export has pinned (content_pins) and that are older than the grace period; upload sessions
 * that expired or whose user was deleted, with their staged bytes; and temporary bodies of puts
 * that a crash interrupted, untouched for the grace period.
 *
 * Blob rows are deleted and their bytes removed inside one transaction, rows locked throughout:
 * an upload that arrives with the same hash meanwhile waits on the row lock, then re-creates the
 * row and finds the bytes gone (`has` is checked after the row is recorded), so it never commits
 * a drive item whose bytes were collected.
 */
export async function collectGarbage(
  db: Db, store: ContentStore, opts: { now: Date; graceSeconds?: number },
): Promise<GarbageCollected> {
  let sessionsRemoved = 0;
  for (;;) {
    const ids = await deleteStaleUploadSessions(db, opts.now, BATCH);
    for (const id of ids) await store.discardStaged(id);
    sessionsRemoved += ids.length;
    if (ids.length < BATCH) break;
  }

  const olderThan = new Date(opts.now.getTime() - (opts.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000);
  let blobsDeleted = 0;
  for (;;) {
    const deleted = await inTransaction(db, async (tx) => {
      const hashes = await deleteUnreferencedContentBlobs(tx, olderThan, BATCH);
      for (const sha256 of hashes) await store.delete(sha256);
      return hashes.length;
    });
    blobsDeleted += deleted;
    if (deleted < BATCH) break;
  }
  const temporaryRemoved = await store.sweepTemporary(olderThan);
  return { blobsDeleted, sessionsRemoved, temporaryRemoved };
}

/** Runs the collector every `intervalSeconds` until stopped; a failed round is logged and retried next time. */
export function startGarbageCollector(
  db: Db, store: ContentStore,
  opts: { intervalSeconds: number; graceSeconds?: number; clock?: () => Date; onError?: (err: unknown) => void },
): { stop(): Promise<void> } {
  return startPeriodicTask(() => collectGarbage(db, store, {
    now: (opts.clock ?? (() => new Date()))(),
    ...(opts.graceSeconds === undefined ? {} : { graceSeconds: opts.graceSeconds }),
  }), opts);
}
