import type { FastifyInstance } from 'fastify';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { insertUploadSession } from '../../../db/queries/upload-sessions.ts';
import { findDriveItemByPath } from '../../../db/queries/drive-items.ts';
import { nextExpectedRanges, parseDrivePath, UPLOAD_SESSION_LIFETIME_SECONDS } from '../../../domain/drive-item.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { graphDateTime } from '../../odata.ts';
import { actorOf, parseConflictBehavior, resolveDriveOwner } from './drive-shared.ts';

/** The secret in an uploadUrl; only its hash is stored. */
export function uploadTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function parseSessionBody(body: unknown): { conflictBehavior: 'replace' | 'fail'; fileSize: number | null } {
  if (body === undefined || body === null) return { conflictBehavior: 'replace', fileSize: null };
  if (typeof body !== 'object' || Array.isArray(body)) throw GraphError.badRequest('The request body must be a JSON object.');
  const item = (body as { item?: unknown }).item;
  if (item === undefined) return { conflictBehavior: 'replace', fileSize: null };
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw GraphError.badRequest("Property 'item' must be an object.");
  const props = item as Record<string, unknown>;
  const fileSize = props.fileSize;
  if (fileSize !== undefined && (typeof fileSize !== 'number' || !Number.isSafeInteger(fileSize) || fileSize < 0)) {
    throw GraphError.badRequest("Property 'fileSize' must be a non-negative integer.");
  }
  return { conflictBehavior: parseConflictBehavior(props['@microsoft.graph.conflictBehavior']), fileSize: (fileSize as number | undefined) ?? null };
}

/**
 * POST /{version}/users/{id | upn}/drive/root:/{path}:/createUploadSession: a resumable upload.
 *
 * The uploadUrl is itself the credential, as on OneDrive: it carries 256 random bits, fragments
 * are PUT to it without an Authorization header (clients must not send their token to it), and
 * anyone holding it can upload to this one path until it expires (24 h) or is cancelled.
 */
export function createUploadSessionRoute(app: FastifyInstance, deps: AppDeps): void {
  app.post<{ Params: { user: string } }>('/users/:user/drive/root::/*', async (request, reply) => {
    const path = parseDrivePath(request.url);
    if (path.action !== 'createUploadSession' || path.segments.length === 0) {
      throw GraphError.invalidRequest('Create an upload session with POST …/drive/root:/{path}:/createUploadSession.');
    }
    const caller = request.caller;
    const owner = await resolveDriveOwner(deps, caller, request.params.user, 'write');
    const { conflictBehavior, fileSize } = parseSessionBody(request.body);
    const existing = await findDriveItemByPath(deps.db, owner.tenant_id, owner.id, path.segments);
    if (existing?.is_folder || (existing && conflictBehavior === 'fail')) {
      throw GraphError.conflict('nameAlreadyExists', `An item named '${existing.name}' already exists at this path.`);
    }
    const now = deps.clock();
    const token = randomBytes(32).toString('base64url');
    const session = await insertUploadSession(deps.db, {
      token_sha256: uploadTokenHash(token), id: randomUUID(), tenant_id: owner.tenant_id, owner_user_id: owner.id,
      item_path: path.segments, conflict_behavior: conflictBehavior, total_size: fileSize,
      created_by: await actorOf(deps, caller, owner), app_id: caller.appId || null,
      created_at: now, expires_at: new Date(now.getTime() + UPLOAD_SESSION_LIFETIME_SECONDS * 1000),
    });
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#microsoft.graph.uploadSession`,
      uploadUrl: `${deps.publicUrl()}/upload-sessions/${token}`,
      expirationDateTime: graphDateTime(session.expires_at),
      nextExpectedRanges: nextExpectedRanges(0, session.total_size),
    });
  });
}
