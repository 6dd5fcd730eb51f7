import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';
import { sendChildrenPage } from './children-page.ts';
import { ensureDriveRoot } from '../../../drive/commit-file.ts';
import { resolveDriveOwner } from './drive-shared.ts';

/** GET /{version}/users/{id | upn}/drive/root/children: $top, $skiptoken, $select. */
export function listRootChildrenRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string }; Querystring: Record<string, string> }>('/users/:user/drive/root/children', async (request, reply) => {
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    const root = await ensureDriveRoot(deps.db, owner, deps.clock());
    return sendChildrenPage(deps, request, reply, owner, root, 'root/children');
  });
}
