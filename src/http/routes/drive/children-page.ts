import type { FastifyReply, FastifyRequest } from 'fastify';
import { listDriveChildren } from '../../../db/queries/drive-items.ts';
import type { DriveItemView } from '../../../domain/drive-item.ts';
import type { UserRow } from '../../../domain/user.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN, selectProperties } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';
import { actorOf, DRIVE_ITEM_PROPERTIES } from './drive-shared.ts';
import { itemLinks, renderDriveItem } from './item-rendering.ts';

// OneDrive pages children by 200 by default and accepts $top up to 1000.
const DEFAULT_PAGE = 200;
const MAX_PAGE = 1000;

/** One page of a folder's children, by name, with @odata.nextLink while more remain. */
export async function sendChildrenPage(
  deps: AppDeps,
  request: FastifyRequest<{ Querystring: Record<string, string> }>,
  reply: FastifyReply,
  owner: UserRow,
  folder: DriveItemView,
  resourcePath: string,
): Promise<FastifyReply> {
  const links = await itemLinks(deps, request.graphVersion, await actorOf(deps, request.caller, owner), request.caller.appId || null);
  const query = request.query;
  const { top, select } = readListQuery(query, {
    options: ['$top', '$skiptoken', '$select'],
    top: [DEFAULT_PAGE, MAX_PAGE],
    properties: DRIVE_ITEM_PROPERTIES,
  });
  const after = decodeSkipToken(query.$skiptoken, 2, ([name, id]) => GUID_PATTERN.test(id!) && !name!.includes('\u0000')) as [string, string] | undefined;
  const rows = folder.is_folder ? await listDriveChildren(deps.db, owner.tenant_id, folder.id, { limit: top + 1, after }) : [];
  const base = graphBase(deps, request.graphVersion);
  return sendPage(reply, rows, {
    top,
    query,
    url: `${base}/users/${owner.id}/drive/${resourcePath}`,
    context: `${base}/$metadata#users('${owner.id}')/drive/items('${folder.id}')/children`,
    render: (row) => selectProperties(renderDriveItem(links, { ...row, path: [...folder.path, row.name] }), select),
    skipToken: (last) => encodeSkipToken([last.name.toLowerCase(), last.id]),
  });
}
