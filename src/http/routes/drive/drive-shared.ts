import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PoolClient } from 'pg';
import { DRIVE_READ, DRIVE_WRITE, requireUserScopedAccess } from '../../../auth/permissions.ts';
import type { Caller } from '../../../auth/verify-token.ts';
import type { StoredContent } from '../../../content/content-store.ts';
import type { Queryable } from '../../../db/pool.ts';
import { touchContentBlob } from '../../../db/queries/content-blobs.ts';
import { insertDriveActivities, type DriveActivity } from '../../../db/queries/drive-activities.ts';
import {
  findChildByName, findDriveItem, findDriveRoot, insertDriveFile, insertDriveFolder, insertDriveRoot, lockDriveItem,
  replaceDriveFileContent,
} from '../../../db/queries/drive-items.ts';
import { findUser } from '../../../db/queries/users.ts';
import {
  itemPathText, mimeTypeFor, numberedName, type ConflictBehavior, type DriveActivityType, type DriveItemView, type IdentitySet,
} from '../../../domain/drive-item.ts';
import type { UserRow } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { GUID_PATTERN, parseSelect, selectProperties } from '../../odata.ts';
import { userNotFound } from '../users/get-user.ts';
import { renderDriveItem, type ItemLinks } from './item-rendering.ts';

/** Every property a driveItem of this service can carry ($select accepts each, and nothing else). */
export const DRIVE_ITEM_PROPERTIES = [
  'id', 'name', 'size', 'eTag', 'cTag', 'createdDateTime', 'lastModifiedDateTime', 'fileSystemInfo', 'parentReference',
  'createdBy', 'lastModifiedBy', 'webUrl', 'file', 'folder', 'root', '@microsoft.graph.downloadUrl',
] as const;

export function itemNotFound(): GraphError {
  return GraphError.itemNotFound('The resource could not be found.');
}

/**
 * The drive's owner, after the permission checks: first whether the caller may use drives at
 * all (403 before revealing whether the user exists), then whether it may use this one (any
 * drive, or only its own), then the user (404, also for a user of another tenant).
 */
export async function resolveDriveOwner(deps: AppDeps, caller: Caller, userKey: string, access: 'read' | 'write'): Promise<UserRow> {
  const permission = access === 'read' ? DRIVE_READ : DRIVE_WRITE;
  asOneDrive(() => requireUserScopedAccess(caller, permission, undefined));
  const owner = await findUser(deps.db, caller.tenantId, userKey);
  asOneDrive(() => requireUserScopedAccess(caller, permission, owner?.id ?? userKey));
  if (!owner) throw userNotFound(userKey);
  return owner;
}

/** OneDrive answers a refused drive request with its own code, `accessDenied`; the message stays the permission check's. */
function asOneDrive(check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof GraphError && err.status === 403) throw new GraphError(403, 'accessDenied', err.message, err.headers);
    throw err;
  }
}

/** The caller as an identitySet; a delegated caller's display name comes from the directory. */
export async function actorOf(deps: AppDeps, caller: Caller, owner: UserRow): Promise<IdentitySet> {
  if (caller.kind === 'application') return { application: { id: caller.appId, displayName: null } };
  if (caller.oid === owner.id) return { user: { id: caller.oid, displayName: owner.display_name } };
  const self = GUID_PATTERN.test(caller.oid) ? await findUser(deps.db, caller.tenantId, caller.oid) : undefined;
  return { user: { id: caller.oid, displayName: self?.display_name ?? caller.upn ?? null } };
}

/** What every activity record of one request shares. */
export interface ActivityContext {
  tenantId: string;
  ownerId: string;
  actor: IdentitySet;
  clientIp: string | null;
  userAgent: string | null;
  appId: string | null;
  now: Date;
}

export function activityContext(request: FastifyRequest, owner: Pick<UserRow, 'tenant_id' | 'id'>, actor: IdentitySet, appId: string | null, now: Date): ActivityContext {
  const ua = request.headers['user-agent'];
  return { tenantId: owner.tenant_id, ownerId: owner.id, actor, clientIp: request.ip, userAgent: typeof ua === 'string' ? ua : null, appId, now };
}

export function activity(ctx: ActivityContext, type: DriveActivityType, itemId: string | null, segments: readonly string[]): DriveActivity {
  return {
    tenantId: ctx.tenantId, userId: ctx.ownerId, at: ctx.now, type, actor: ctx.actor, itemId, itemPath: itemPathText(segments),
    clientIp: ctx.clientIp, userAgent: ctx.userAgent, appId: ctx.appId,
  };
}

/** The root folder, created on first use (by the system on the owner's behalf: no activity record). */
export async function ensureDriveRoot(q: Queryable, owner: UserRow, now: Date): Promise<DriveItemView> {
  const existing = await findDriveRoot(q, owner.tenant_id, owner.id);
  if (existing) return existing;
  await insertDriveRoot(q, owner.tenant_id, owner.id, randomUUID(), now, { user: { id: owner.id, displayName: owner.display_name } });
  return (await findDriveRoot(q, owner.tenant_id, owner.id))!;
}

/** An item of the owner's drive by id (`root` names the root); 404 itemNotFound otherwise. */
export async function loadItem(deps: AppDeps, owner: UserRow, itemId: string): Promise<DriveItemView> {
  if (itemId.toLowerCase() === 'root') return ensureDriveRoot(deps.db, owner, deps.clock());
  if (!GUID_PATTERN.test(itemId)) throw itemNotFound();
  const item = await findDriveItem(deps.db, owner.tenant_id, owner.id, itemId.toLowerCase());
  if (!item) throw itemNotFound();
  return item;
}

/**
 * Records content that was just stored. The row is written (or its age refreshed) first and the
 * bytes checked after: if the garbage collector removed these bytes between the store's put
 * and now, the upload fails with a retryable 503 rather than committing an item without bytes.
 */
export async function recordStoredContent(deps: AppDeps, content: StoredContent): Promise<void> {
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

export function driveItemContext(deps: AppDeps, request: FastifyRequest, ownerId: string, root = false): string {
  return `${graphBase(deps, request.graphVersion)}/$metadata#users('${ownerId}')/drive/${root ? 'root' : 'items'}/$entity`;
}

export function sendDriveItem(
  reply: FastifyReply, status: number, context: string, links: ItemLinks, item: DriveItemView, select?: readonly string[],
): FastifyReply {
  return sendGraphJson(reply, status, { '@odata.context': context, ...selectProperties(renderDriveItem(links, item), select) });
}

export function parseItemSelect(raw: string | undefined): string[] | undefined {
  return parseSelect(raw, DRIVE_ITEM_PROPERTIES);
}

/** `@microsoft.graph.conflictBehavior`: replace (OneDrive's default for uploads), fail or rename. */
export function parseConflictBehavior(raw: unknown): ConflictBehavior {
  if (raw === undefined || raw === 'replace') return 'replace';
  if (raw === 'fail' || raw === 'rename') return raw;
  // JSON text, so an object or array in the body reads as itself rather than "[object Object]".
  throw GraphError.invalidRequest(`@microsoft.graph.conflictBehavior ${JSON.stringify(raw)} is not valid; use replace, fail or rename.`);
}

/**
 * A scope whose routes get the request body as a stream, whatever its Content-Type: uploads are
 * piped to the content store as they arrive, never buffered. No other route sees this parser.
 */
export function withRawBody(app: FastifyInstance, register: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    register(scope);
  });
}
