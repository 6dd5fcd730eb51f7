import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { findDriveItemByPath } from '../../../db/queries/drive-items.ts';
import { insertUploadSession } from '../../../db/queries/upload-sessions.ts';
import { nextExpectedRanges, parseDrivePath, UPLOAD_SESSION_LIFETIME_SECONDS, validateItemName, type ConflictBehavior } from '../../../domain/drive-item.ts';
import type { UserRow } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import { checkNewUploadSession } from '../../../quota/upload-quotas.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { graphDateTime } from '../../odata.ts';
import { actorOf, loadItem, parseConflictBehavior, resolveDriveOwner } from './drive-shared.ts';

/** The secret in an uploadUrl; only its hash is stored. */
export function uploadTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface SessionOptions {
  conflictBehavior: ConflictBehavior;
  fileSize: number | null;
  name: string | undefined;
  deferCommit: boolean;
}

// driveItemUploadableProperties this service takes; description and fileSystemInfo are accepted and not kept.
const ITEM_PROPERTIES = ['@microsoft.graph.conflictBehavior', '@odata.type', 'fileSize', 'name', 'description', 'fileSystemInfo'];

function parseSessionBody(body: unknown): SessionOptions {
  const options: SessionOptions = { conflictBehavior: 'replace', fileSize: null, name: undefined, deferCommit: false };
  if (body === undefined || body === null) return options;
  if (typeof body !== 'object' || Array.isArray(body)) throw GraphError.invalidRequest('The request body must be a JSON object.');
  const { item, deferCommit, ...rest } = body as { item?: unknown; deferCommit?: unknown };
  const unknown = Object.keys(rest).find((k) => !k.startsWith('@odata.'));
  if (unknown) throw GraphError.invalidRequest(`Property '${unknown}' is not a parameter of createUploadSession.`);
  if (deferCommit !== undefined && typeof deferCommit !== 'boolean') throw GraphError.invalidRequest("Property 'deferCommit' must be a boolean.");
  options.deferCommit = deferCommit ?? false;
  if (item === undefined) return options;
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw GraphError.invalidRequest("Property 'item' must be an object.");
  const props = item as Record<string, unknown>;
  const unknownItem = Object.keys(props).find((k) => !ITEM_PROPERTIES.includes(k));
  if (unknownItem) throw GraphError.invalidRequest(`Property '${unknownItem}' does not exist on type 'microsoft.graph.driveItemUploadableProperties'.`);
  const { fileSize, name } = props;
  if (fileSize !== undefined && (typeof fileSize !== 'number' || !Number.isSafeInteger(fileSize) || fileSize < 0)) {
    throw GraphError.invalidRequest("Property 'fileSize' must be a non-negative integer.");
  }
  if (name !== undefined) {
    if (typeof name !== 'string') throw GraphError.invalidRequest("Property 'name' must be a string.");
    validateItemName(name);
  }
  options.conflictBehavior = parseConflictBehavior(props['@microsoft.graph.conflictBehavior']);
  options.fileSize = fileSize ?? null;
  options.name = name;
  return options;
}

/**
 * Opens the session for the file at `segments` (names below the root). The uploadUrl is itself
 * the credential, as on OneDrive: it carries 256 random bits, fragments are PUT to it without an
 * Authorization header (clients must not send their token to it), and anyone holding it can
 * upload to this one path until it expires (24 h after the last fragment) or is cancelled.
 */
async function openSession(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  owner: UserRow,
  segments: string[],
  options: SessionOptions,
): Promise<FastifyReply> {
  const caller = request.caller;
  if (options.name !== undefined && options.name.toLowerCase() !== segments[segments.length - 1]!.toLowerCase()) {
    throw GraphError.invalidRequest(`The item name '${options.name}' does not match the name in the request URL.`);
  }
  const existing = await findDriveItemByPath(deps.db, owner.tenant_id, owner.id, segments);
  if (existing?.is_folder || (existing && options.conflictBehavior === 'fail')) {
    throw GraphError.conflict('nameAlreadyExists', `An item named '${existing.name}' already exists at this path.`);
  }
  const now = deps.clock();
  await checkNewUploadSession(deps.db, deps.config, owner, options.fileSize, now);
  const token = randomBytes(32).toString('base64url');
  const session = await insertUploadSession(deps.db, {
    token_sha256: uploadTokenHash(token),
    id: randomUUID(),
    tenant_id: owner.tenant_id,
    owner_user_id: owner.id,
    item_path: segments,
    conflict_behavior: options.conflictBehavior,
    total_size: options.fileSize,
    created_by: await actorOf(deps, caller, owner),
    app_id: caller.appId || null,
    created_at: now,
    expires_at: new Date(now.getTime() + UPLOAD_SESSION_LIFETIME_SECONDS * 1000),
    graph_version: request.graphVersion,
    defer_commit: options.deferCommit,
  });
  return sendGraphJson(reply, 200, {
    '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#microsoft.graph.uploadSession`,
    uploadUrl: `${deps.publicUrl()}/upload-sessions/${token}`,
    expirationDateTime: graphDateTime(session.expires_at),
    nextExpectedRanges: nextExpectedRanges(0, session.total_size),
  });
}

/**
 * POST …/drive/root:/{path}:/createUploadSession, …/drive/items/{parentId}:/{name}:/createUploadSession
 * (a new or replaced file) and …/drive/items/{itemId}/createUploadSession (new content for an
 * existing file). Body: optional `item` (@microsoft.graph.conflictBehavior, fileSize, name) and
 * `deferCommit`.
 */
export function createUploadSessionRoute(app: FastifyInstance, deps: AppDeps): void {
  app.post<{ Params: { user: string } }>('/users/:user/drive/root::/*', async (request, reply) => {
    const path = parseDrivePath(request.url);
    if (path.action !== 'createUploadSession' || path.segments.length === 0) {
      throw GraphError.invalidRequest('Create an upload session with POST …/drive/root:/{path}:/createUploadSession.');
    }
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'write');
    return openSession(deps, request, reply, owner, path.segments, parseSessionBody(request.body));
  });

  app.post<{ Params: { user: string; itemId: string } }>('/users/:user/drive/items/:itemId/createUploadSession', async (request, reply) => {
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'write');
    const options = parseSessionBody(request.body);
    const item = await loadItem(deps, owner, request.params.itemId);
    if (item.is_folder) throw GraphError.invalidRequest(`'${item.name}' is a folder; upload sessions write files.`);
    return openSession(deps, request, reply, owner, item.path, { ...options, conflictBehavior: 'replace' });
  });

  app.post<{ Params: { user: string } }>('/users/:user/drive/items/*', async (request, reply) => {
    const path = parseDrivePath(request.url);
    if (path.action !== 'createUploadSession' || path.segments.length === 0 || path.anchorId === undefined) {
      throw GraphError.invalidRequest('Create an upload session with POST …/drive/items/{parentId}:/{name}:/createUploadSession.');
    }
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'write');
    const options = parseSessionBody(request.body);
    const parent = await loadItem(deps, owner, path.anchorId);
    if (!parent.is_folder) throw GraphError.invalidRequest(`'${parent.name}' is a file; a new file needs a folder as its parent.`);
    return openSession(deps, request, reply, owner, [...parent.path, ...path.segments], options);
  });
}
