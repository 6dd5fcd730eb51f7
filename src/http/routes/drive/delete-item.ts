import type { FastifyInstance } from 'fastify';
import { inTransaction } from '../../../db/pool.ts';
import { insertDriveActivities } from '../../../db/queries/drive-activities.ts';
import { deleteDriveItem, listDriveSubtree, lockDriveItem } from '../../../db/queries/drive-items.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { activity } from '../../../drive/drive-activity.ts';
import { activityContext, actorOf, itemNotFound, loadItem, resolveDriveOwner } from './drive-shared.ts';

/**
 * DELETE /{version}/users/{id | upn}/drive/items/{itemId}: 204. A folder goes with its subtree;
 * every removed item gets a FileDeleted record, in the transaction of the delete. The bytes stay
 * until the garbage collector finds them unreferenced (an export in progress may still need them).
 */
export function deleteItemRoute(app: FastifyInstance, deps: AppDeps): void {
  app.delete<{ Params: { user: string; itemId: string } }>('/users/:user/drive/items/:itemId', async (request, reply) => {
    const caller = request.caller;
    const owner = await resolveDriveOwner(deps, caller, request.params.user, 'write');
    const item = await loadItem(deps, owner, request.params.itemId);
    if (item.parent_id === null) throw GraphError.invalidRequest("The drive's root folder cannot be deleted.");
    const ctx = activityContext(request, owner, await actorOf(deps, caller, owner), caller.appId || null, deps.clock());
    const parentPath = item.path.slice(0, -1);
    await inTransaction(deps.db, async (tx) => {
      // Uploads lock every folder on their path, so with this lock no child appears unrecorded.
      if (!(await lockDriveItem(tx, owner.tenant_id, item.id))) throw itemNotFound();
      const subtree = await listDriveSubtree(tx, owner.tenant_id, item.id);
      if (!(await deleteDriveItem(tx, owner.tenant_id, owner.id, item.id))) throw itemNotFound();
      await insertDriveActivities(
        tx,
        subtree.map((s) => activity(ctx, 'FileDeleted', s.id, [...parentPath, ...s.names])),
      );
    });
    return reply.code(204).send();
  });
}
