import type { FastifyInstance } from 'fastify';
import { findDriveItemByPath } from '../../../db/queries/drive-items.ts';
import { parseDrivePath } from '../../../domain/drive-item.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { sendItemContent } from './download-content.ts';
import { ensureDriveRoot, itemNotFound, resolveDriveOwner } from './drive-shared.ts';
import { sendItemMetadata } from './get-item.ts';

/**
 * GET /{version}/users/{id | upn}/drive/root:/{path}[:] (metadata) and …/root:/{path}:/content
 * (bytes): one router entry, since both share the `root:` wildcard; the path is parsed here.
 */
export function getItemByPathRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string }; Querystring: Record<string, string> }>('/users/:user/drive/root::/*', async (request, reply) => {
    const path = parseDrivePath(request.url);
    if (path.action === 'createUploadSession') throw GraphError.invalidRequest('createUploadSession needs POST.');
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    const item = path.segments.length === 0
      ? await ensureDriveRoot(deps.db, owner, deps.clock())
      : await findDriveItemByPath(deps.db, owner.tenant_id, owner.id, path.segments);
    if (!item) throw itemNotFound();
    return path.action === 'content'
      ? sendItemContent(deps, request, reply, request.caller, owner, item)
      : sendItemMetadata(deps, request, reply, request.caller, owner, item);
  });
}
