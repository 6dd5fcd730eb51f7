import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../../auth/verify-token.ts';
import { insertDriveActivities } from '../../../db/queries/drive-activities.ts';
import type { DriveItemView } from '../../../domain/drive-item.ts';
import type { UserRow } from '../../../domain/user.ts';
import type { AppDeps } from '../../app-deps.ts';
import { rejectUnknownOptions } from '../../odata.ts';
import { activity } from '../../../drive/drive-activity.ts';
import { activityContext, actorOf, driveItemContext, loadItem, parseItemSelect, resolveDriveOwner, sendDriveItem } from './drive-shared.ts';
import { itemLinks } from './item-rendering.ts';

/** Answers an item's metadata and records FileAccessed (shared by the id, path and root routes). */
export async function sendItemMetadata(
  deps: AppDeps,
  request: FastifyRequest<{ Querystring: Record<string, string> }>,
  reply: FastifyReply,
  caller: Caller,
  owner: UserRow,
  item: DriveItemView,
): Promise<FastifyReply> {
  rejectUnknownOptions(request.query, ['$select']);
  const select = parseItemSelect(request.query.$select);
  const by = await actorOf(deps, caller, owner);
  const ctx = activityContext(request, owner, by, caller.appId || null, deps.clock());
  await insertDriveActivities(deps.db, [activity(ctx, 'FileAccessed', item.id, item.path)]);
  const links = await itemLinks(deps, request.graphVersion, by, caller.appId || null);
  return sendDriveItem(reply, 200, driveItemContext(deps, request, owner.id, item.parent_id === null), links, item, select);
}

/** GET /{version}/users/{id | upn}/drive/items/{itemId} */
export function getItemRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string; itemId: string }; Querystring: Record<string, string> }>('/users/:user/drive/items/:itemId', async (request, reply) => {
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    const item = await loadItem(deps, owner, request.params.itemId);
    return sendItemMetadata(deps, request, reply, request.caller, owner, item);
  });
}
