import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { ContentStore, StoredContent } from '../content/content-store.ts';
import type { Db, Queryable } from '../db/pool.ts';
import { touchContentBlob } from '../db/queries/content-blobs.ts';
import { insertDriveActivities, type DriveActivity } from '../db/queries/drive-activities.ts';
import {
  findChildByName,
  findDriveItem,
  findDriveRoot,
  insertDriveFile,
  insertDriveFolder,
  insertDriveRoot,
  lockDriveItem,
  replaceDriveFileContent,
} from '../db/queries/drive-items.ts';
import { itemPathText, mimeTypeFor, numberedName, type ConflictBehavior, type DriveItemView } from '../domain/drive-item.ts';
import type { UserRow } from '../domain/user.ts';
import { GraphError } from '../graph-error.ts';
import { activity, type ActivityContext } from './drive-activity.ts';

// How stored content becomes a file of a user's drive, for both ways of uploading (a simple PUT
// and an upload session's last fragment); the routes only read the request and send the item.

/** The root folder, created on first use (by the system on the owner's behalf: no activity record). */
export async function ensureDriveRoot(q: Queryable, owner: UserRow, now: Date): Promise<DriveItemView> {
  const existing = await findDriveRoot(q, owner.tenant_id, owner.id);
  if (existing) return existing;
  await insertDriveRoot(q, owner.tenant_id, owner.id, randomUUID(), now, { user: { id: owner.id, displayName: owner.display_name } });
  return (await findDriveRoot(q, owner.tenant_id, owner.id))!;
}

/**
 * Records content that was just stored. The row is written (or its age refreshed) first and the
 * bytes checked after: if the garbage collector removed these bytes between the store's put
 * and now, the upload fails with a retryable 503 rather than committing an item without bytes.
 */
export async function recordStoredContent(
  deps: { db: Db; contentStore: ContentStore; clock: () => Date; config: { retryAfterSeconds: number } },
  content: StoredContent,
): Promise<void> {
  await touchContentBlob(deps.db, content, deps.clock());
  if (!(await deps.contentStore.has(content.sha256))) {
    throw GraphError.serviceUnavailable('The upload collided with storage cleanup; upload the file again.', deps.config.retryAfterSeconds);
  }
}

// Enough for any real folder; past it the upload fails rather than probing without end.
const MAX_RENAME_ATTEMPTS = 1000;

/** The first `name (n).ext` not taken in the (locked) folder. */
async function freeName(tx: PoolClient, tenantId: string, parentId: string, name: string): Promise<string> {
  for (let n = 1; n <= MAX_RENAME_ATTEMPTS; n++) {
    const candidate = numberedName(name, n);
    if (candidate.length <= 255 && !(await findChildByName(tx, tenantId, parentId, candidate))) return candidate;
  }
  throw conflict(`No free name was found for '${name}'; choose another name.`);
}

function conflict(message: string): GraphError {
  return GraphError.conflict('nameAlreadyExists', message);
}

/**
 * Puts stored content at a path of the owner's drive, in the caller's transaction: folders on the
 * way are created (FolderCreated each), then the file is created (FileUploaded) or its content
 * replaced (FileModified; OneDrive keeps the item's id). Each folder on the path is row-locked
 * before its children are read, top-down, so concurrent uploads into one folder serialise there.
 */
export async function commitFileToDrive(
  tx: PoolClient,
  input: { owner: UserRow; segments: readonly string[]; content: StoredContent; conflictBehavior: ConflictBehavior; ctx: ActivityContext },
): Promise<{ item: DriveItemView; created: boolean }> {
  const { owner, segments, content, ctx } = input;
  const tenantId = owner.tenant_id;
  const root = await ensureDriveRoot(tx, owner, ctx.now);
  let parentId = root.id;
  const names: string[] = [];
  const activities: DriveActivity[] = [];
  const lock = async (id: string) => {
    if (!(await lockDriveItem(tx, tenantId, id))) {
      throw GraphError.conflict('resourceModified', 'A folder on the path was deleted during the upload; upload the file again.');
    }
  };
  for (const segment of segments.slice(0, -1)) {
    await lock(parentId);
    const child = await findChildByName(tx, tenantId, parentId, segment);
    if (child && !child.is_folder) throw conflict(`'${itemPathText([...names, child.name])}' is a file, not a folder.`);
    if (child) {
      names.push(child.name);
      parentId = child.id;
      continue;
    }
    const folder = await insertDriveFolder(tx, { tenantId, id: randomUUID(), ownerId: owner.id, parentId, name: segment, now: ctx.now, by: ctx.actor });
    names.push(folder.name);
    activities.push(activity(ctx, 'FolderCreated', folder.id, names));
    parentId = folder.id;
  }
  let fileName = segments[segments.length - 1]!;
  await lock(parentId);
  let existing = await findChildByName(tx, tenantId, parentId, fileName);
  if (existing && input.conflictBehavior === 'rename') {
    fileName = await freeName(tx, tenantId, parentId, fileName);
    existing = undefined;
  }
  const file = { size: content.size, sha256: content.sha256, mimeType: mimeTypeFor(existing?.name ?? fileName) };
  let id: string;
  let created: boolean;
  if (existing) {
    if (existing.is_folder) throw conflict(`A folder named '${existing.name}' already exists at this path.`);
    if (input.conflictBehavior === 'fail') throw conflict(`A file named '${existing.name}' already exists at this path.`);
    await replaceDriveFileContent(tx, tenantId, existing.id, { ...file, now: ctx.now, by: ctx.actor });
    activities.push(activity(ctx, 'FileModified', existing.id, [...names, existing.name]));
    ({ id } = existing);
    created = false;
  } else {
    ({ id } = await insertDriveFile(tx, { tenantId, id: randomUUID(), ownerId: owner.id, parentId, name: fileName, now: ctx.now, by: ctx.actor, ...file }));
    activities.push(activity(ctx, 'FileUploaded', id, [...names, fileName]));
    created = true;
  }
  await insertDriveActivities(tx, activities);
  return { item: (await findDriveItem(tx, tenantId, owner.id, id))!, created };
}
