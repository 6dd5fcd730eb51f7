import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DRIVE_READ, DRIVE_WRITE, requireUserScopedAccess } from '../../../auth/permissions.ts';
import type { Caller } from '../../../auth/verify-token.ts';
import { findDriveItem } from '../../../db/queries/drive-items.ts';
import { findUser } from '../../../db/queries/users.ts';
import type { ConflictBehavior, DriveItemView, IdentitySet } from '../../../domain/drive-item.ts';
import type { ActivityContext } from '../../../drive/drive-activity.ts';
import { ensureDriveRoot } from '../../../drive/commit-file.ts';
import type { UserRow } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { GUID_PATTERN, parseSelect, selectProperties } from '../../odata.ts';
import { userNotFound } from '../users/get-user.ts';
import { renderDriveItem, type ItemLinks } from './item-rendering.ts';

/** Every property a driveItem of this service can carry ($select accepts each, and nothing else). */
export const DRIVE_ITEM_PROPERTIES = [
  'id',
  'name',
  'size',
  'eTag',
  'cTag',
  'createdDateTime',
  'lastModifiedDateTime',
  'fileSystemInfo',
  'parentReference',
  'createdBy',
  'lastModifiedBy',
  'webUrl',
  'file',
  'folder',
  'root',
  '@microsoft.graph.downloadUrl',
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

export function activityContext(
  request: FastifyRequest,
  owner: Pick<UserRow, 'tenant_id' | 'id'>,
  actor: IdentitySet,
  appId: string | null,
  now: Date,
): ActivityContext {
  const ua = request.headers['user-agent'];
  return { tenantId: owner.tenant_id, ownerId: owner.id, actor, clientIp: request.ip, userAgent: typeof ua === 'string' ? ua : null, appId, now };
}

/** An item of the owner's drive by id (`root` names the root); 404 itemNotFound otherwise. */
export async function loadItem(deps: AppDeps, owner: UserRow, itemId: string): Promise<DriveItemView> {
  if (itemId.toLowerCase() === 'root') return ensureDriveRoot(deps.db, owner, deps.clock());
  if (!GUID_PATTERN.test(itemId)) throw itemNotFound();
  const item = await findDriveItem(deps.db, owner.tenant_id, owner.id, itemId.toLowerCase());
  if (!item) throw itemNotFound();
  return item;
}

export function driveItemContext(deps: AppDeps, request: FastifyRequest, ownerId: string, root = false): string {
  return `${graphBase(deps, request.graphVersion)}/$metadata#users('${ownerId}')/drive/${root ? 'root' : 'items'}/$entity`;
}

export function sendDriveItem(
  reply: FastifyReply,
  status: number,
  context: string,
  links: ItemLinks,
  item: DriveItemView,
  select?: readonly string[],
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
