import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';
import { sendChildrenPage } from './children-page.ts';
import { loadItem, resolveDriveOwner } from './drive-shared.ts';

/** GET /{version}/users/{id | upn}/drive/items/{itemId}/children: $top, $skiptoken, $select. */
export function listItemChildrenRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string; itemId: string }; Querystring: Record<string, string> }>(
    '/users/:user/drive/items/:itemId/children',
    async (request, reply) => {
      const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
      const folder = await loadItem(deps, owner, request.params.itemId);
      return sendChildrenPage(deps, request, reply, owner, folder, `items/${folder.id}/children`);
    },
  );
}
