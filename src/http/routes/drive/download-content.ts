import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../../auth/verify-token.ts';
import { insertDriveActivities } from '../../../db/queries/drive-activities.ts';
import { contentETag, type DriveItemView } from '../../../domain/drive-item.ts';
import type { UserRow } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { activity, activityContext, actorOf, loadItem, resolveDriveOwner } from './drive-shared.ts';

/**
 * Streams a file's bytes (Graph answers with a 302 to a download URL; we serve them directly) and
 * records FileDownloaded. The stream is opened before anything is recorded or sent, so missing
 * bytes are a clean 500, not a truncated 200.
 */
export async function sendItemContent(
  deps: AppDeps, request: FastifyRequest, reply: FastifyReply, caller: Caller, owner: UserRow, item: DriveItemView,
): Promise<FastifyReply> {
  if (item.is_folder || item.content_sha256 === null) {
    throw GraphError.invalidRequest(`'${item.name}' is a folder; only files have content.`);
  }
  const etag = contentETag(item.content_sha256);
  const stream = await deps.contentStore.get(item.content_sha256);
  try {
    const ctx = activityContext(request, owner, await actorOf(deps, caller, owner), caller.appId || null, deps.clock());
    await insertDriveActivities(deps.db, [activity(ctx, 'FileDownloaded', item.id, item.path)]);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  return reply
    .code(200)
    .header('content-type', item.mime_type ?? 'application/octet-stream')
    .header('content-length', String(item.size))
    .header('etag', etag)
    .send(stream);
}

/** GET /{version}/users/{id | upn}/drive/items/{itemId}/content */
export function downloadContentRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string; itemId: string } }>('/users/:user/drive/items/:itemId/content', async (request, reply) => {
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    const item = await loadItem(deps, owner, request.params.itemId);
    return sendItemContent(deps, request, reply, request.caller, owner, item);
  });
}
