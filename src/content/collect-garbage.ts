import { inTransaction, type Db } from '../db/pool.ts';
import { deleteContentBlobRow, deleteUnreferencedContentBlobs, lockUnrecordedContent, unrecordedContent } from '../db/queries/content-blobs.ts';
import { deleteStaleUploadSessions, uploadSessionsThatExist } from '../db/queries/upload-sessions.ts';
import { purgeExpiredDeletedUsers } from '../db/queries/users.ts';
import { GUID_SOURCE } from '../domain/formats.ts';
import { deletedItemsSince } from '../domain/user.ts';
import type { ContentStore } from './content-store.ts';
import { startPeriodicTask } from '../runtime/periodic-task.ts';

// An upload stores its bytes, then records the blob (touching created_at), then commits the drive
// change: seconds apart. An hour covers that with a wide margin, and export pins cover the rest.
export const DEFAULT_GRACE_SECONDS = 3600;
const BATCH = 100;
// The listing pass reads the whole store: every few hours is enough for what only a crash leaves.
export const LISTING_INTERVAL_SECONDS = 6 * 3600;
// Lowercase only: the names this service gives staging (session ids as it writes them).
const SESSION_ID = new RegExp(`^${GUID_SOURCE}$`);

export interface GarbageCollected {
  blobsDeleted: number;
  sessionsRemoved: number;
  /** Half-written bodies a crash left in the store's tmp/. */
  temporaryRemoved: number;
  /** Listing pass: bodies stored without a content_blobs row (a crash between the two). */
  unrecordedRemoved: number;
  /** Listing pass: staging left behind by a session whose row is gone. */
  stagingRemoved: number;
}

/**
 * Purges users soft-deleted more than 30 days ago, then removes content nobody needs any more: blobs that no drive item references, that no unfinished
 * export has pinned (content_pins) and that are older than the grace period; upload sessions
 * that expired or whose user was deleted, with their staged bytes; temporary bodies of puts
 * that a crash interrupted, untouched for the grace period; and, unless `listStore` is false,
 * what a listing of the store finds that no row accounts for (collectUnlisted).
 *
 * Blob rows are deleted and their bytes removed inside one transaction, rows locked throughout:
 * an upload that arrives with the same hash meanwhile waits on the row lock, then re-creates the
 * row and finds the bytes gone (`has` is checked after the row is recorded), so it never commits
 * a drive item whose bytes were collected.
 */
export async function collectGarbage(db: Db, store: ContentStore, opts: { now: Date; graceSeconds?: number; listStore?: boolean }): Promise<GarbageCollected> {
  // Users 30 days in deletedItems are purged first: their drive items go with them (cascade), so
  // their content is unreferenced by the blob pass below.
  while ((await purgeExpiredDeletedUsers(db, deletedItemsSince(opts.now), BATCH)) === BATCH);
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
  const listed = opts.listStore === false ? { unrecordedRemoved: 0, stagingRemoved: 0 } : await collectUnlisted(db, store, olderThan);
  return { blobsDeleted, sessionsRemoved, temporaryRemoved, ...listed };
}

/**
 * The listing pass: bytes are written before the rows that account for them, so a crash after a
 * put and before its content_blobs row, or between a session row's delete and its staging's,
 * leaves bytes no row points to, which the passes above never see. Walks the store in pages, and removes
 * what is older than the grace period and still unrecorded.
 */
async function collectUnlisted(db: Db, store: ContentStore, olderThan: Date): Promise<{ unrecordedRemoved: number; stagingRemoved: number }> {
  let unrecordedRemoved = 0;
  const removeUnrecorded = async (page: string[]) => {
    for (const sha256 of await unrecordedContent(db, page)) {
      const removed = await inTransaction(db, async (tx) => {
        if (!(await lockUnrecordedContent(tx, sha256))) return false;
        await store.delete(sha256);
        await deleteContentBlobRow(tx, sha256);
        return true;
      });
      if (removed) unrecordedRemoved++;
    }
  };
  await inPages(store.listContent(), olderThan, (b) => b.sha256, removeUnrecorded);

  let stagingRemoved = 0;
  const removeStaging = async (page: string[]) => {
    // Staging keys are session ids; a name that is not one was not made by this service.
    const keys = page.filter((k) => SESSION_ID.test(k));
    const live = await uploadSessionsThatExist(db, keys);
    for (const key of keys.filter((k) => !live.has(k))) {
      await store.discardStaged(key);
      stagingRemoved++;
    }
  };
  await inPages(store.listStaging(), olderThan, (s) => s.key, removeStaging);
  return { unrecordedRemoved, stagingRemoved };
}

/** Hands the names of listed entries older than `olderThan` to `handle`, BATCH at a time. */
async function inPages<T extends { modified: Date }>(
  listing: AsyncIterable<T>,
  olderThan: Date,
  name: (entry: T) => string,
  handle: (page: string[]) => Promise<void>,
): Promise<void> {
  let page: string[] = [];
  for await (const entry of listing) {
    if (entry.modified >= olderThan) continue;
    page.push(name(entry));
    if (page.length === BATCH) {
      await handle(page);
      page = [];
    }
  }
  if (page.length > 0) await handle(page);
}

/** Runs the collector every `intervalSeconds` until stopped; a failed round is logged and retried next time. */
export function startGarbageCollector(
  db: Db,
  store: ContentStore,
  opts: { intervalSeconds: number; graceSeconds?: number; clock?: () => Date; onError?: (err: unknown) => void },
): { stop(): Promise<void> } {
  let listedAt = -Infinity;
  return startPeriodicTask(async () => {
    const now = (opts.clock ?? (() => new Date()))();
    const listStore = now.getTime() - listedAt >= LISTING_INTERVAL_SECONDS * 1000;
    await collectGarbage(db, store, {
      now,
      listStore,
      ...(opts.graceSeconds === undefined ? {} : { graceSeconds: opts.graceSeconds }),
    });
    if (listStore) listedAt = now.getTime();
  }, opts);
}
