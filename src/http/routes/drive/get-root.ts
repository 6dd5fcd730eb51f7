import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';
import { ensureDriveRoot } from '../../../drive/commit-file.ts';
import { resolveDriveOwner } from './drive-shared.ts';
import { sendItemMetadata } from './get-item.ts';

/** GET /{version}/users/{id | upn}/drive/root */
export function getRootRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string }; Querystring: Record<string, string> }>('/users/:user/drive/root', async (request, reply) => {
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    const root = await ensureDriveRoot(deps.db, owner, deps.clock());
    return sendItemMetadata(deps, request, reply, request.caller, owner, root);
  });
}
