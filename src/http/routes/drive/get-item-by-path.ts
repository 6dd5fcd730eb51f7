import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findDriveItemByPath } from '../../../db/queries/drive-items.ts';
import { parseDrivePath } from '../../../domain/drive-item.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { sendItemContent } from './download-content.ts';
import { ensureDriveRoot } from '../../../drive/commit-file.ts';
import { itemNotFound, loadItem, resolveDriveOwner } from './drive-shared.ts';
import { sendItemMetadata } from './get-item.ts';

/**
 * GET /{version}/users/{id | upn}/drive/root:/{path}[:] and …/items/{id}:/{path}[:] (metadata),
 * with `:/content` (bytes): one router entry per anchor, since each shares a wildcard; the path
 * is parsed here, relative to the root or to the anchor folder.
 */
export function getItemByPathRoute(app: FastifyInstance, deps: AppDeps): void {
  const handler = async (request: FastifyRequest<{ Params: { user: string }; Querystring: Record<string, string> }>, reply: FastifyReply) => {
    const path = parseDrivePath(request.url);
    if (path.action === 'createUploadSession') throw GraphError.invalidRequest('createUploadSession needs POST.');
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    const anchor = path.anchorId === undefined ? undefined : await loadItem(deps, owner, path.anchorId);
    const segments = [...(anchor?.path ?? []), ...path.segments];
    const item =
      segments.length === 0 ? await ensureDriveRoot(deps.db, owner, deps.clock()) : await findDriveItemByPath(deps.db, owner.tenant_id, owner.id, segments);
    if (!item) throw itemNotFound();
    return path.action === 'content'
      ? sendItemContent(deps, request, reply, request.caller, owner, item)
      : sendItemMetadata(deps, request, reply, request.caller, owner, item);
  };
  app.get('/users/:user/drive/root::/*', handler);
  app.get('/users/:user/drive/items/*', handler);
}
