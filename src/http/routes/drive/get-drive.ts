import type { FastifyInstance } from 'fastify';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { graphDateTime } from '../../odata.ts';
import { resolveDriveOwner } from './drive-shared.ts';

/** GET /{version}/users/{id | upn}/drive: one business drive per user; its id is the owner's object id. */
export function getDriveRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string } }>('/users/:user/drive', async (request, reply) => {
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#users('${owner.id}')/drive/$entity`,
      id: owner.id,
      driveType: 'business',
      name: 'OneDrive',
      createdDateTime: graphDateTime(owner.created_at),
      owner: { user: { id: owner.id, displayName: owner.display_name } },
    });
  });
}
