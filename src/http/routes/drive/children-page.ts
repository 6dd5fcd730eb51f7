import type { FastifyReply, FastifyRequest } from 'fastify';
import { listDriveChildren } from '../../../db/queries/drive-items.ts';
import type { DriveItemView } from '../../../domain/drive-item.ts';
import type { UserRow } from '../../../domain/user.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { GraphError } from '../../../graph-error.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN, parseTop, rejectUnknownOptions, selectProperties } from '../../odata.ts';
import { nextLink } from '../../paging.ts';
import { actorOf, parseItemSelect } from './drive-shared.ts';
import { itemLinks, renderDriveItem } from './item-rendering.ts';

// OneDrive pages children by 200 by default and accepts $top up to 1000.
const DEFAULT_PAGE = 200;
const MAX_PAGE = 1000;

/** One page of a folder's children, by name, with @odata.nextLink while more remain. */
export async function sendChildrenPage(
  deps: AppDeps, request: FastifyRequest<{ Querystring: Record<string, string> }>, reply: FastifyReply,
  owner: UserRow, folder: DriveItemView, resourcePath: string,
): Promise<FastifyReply> {
  const links = await itemLinks(deps, request.graphVersion, await actorOf(deps, request.caller, owner), request.caller.appId || null);
  const query = request.query;
  rejectUnknownOptions(query, ['$top', '$skiptoken', '$select']);
  const top = parseTop(query.$top, DEFAULT_PAGE, MAX_PAGE);
  const select = parseItemSelect(query.$select);
  const after = decodeSkipToken(query.$skiptoken, 2) as [string, string] | undefined;
  // A forged cursor must be a 400, not a PostgreSQL error (a non-uuid id, a NUL in text): 500.
  if (after && (!GUID_PATTERN.test(after[1]) || after[0].includes('\u0000'))) {
    throw GraphError.badRequest('Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.');
  }
  const rows = folder.is_folder
    ? await listDriveChildren(deps.db, owner.tenant_id, folder.id, { limit: top + 1, after })
    : [];
  const page = rows.slice(0, top);
  const base = graphBase(deps, request.graphVersion);
  const last = page[page.length - 1];
  return sendGraphJson(reply, 200, {
    '@odata.context': `${base}/$metadata#users('${owner.id}')/drive/items('${folder.id}')/children`,
    value: page.map((row) => selectProperties(renderDriveItem(links, { ...row, path: [...folder.path, row.name] }), select)),
    ...(rows.length > top && last
      ? { '@odata.nextLink': nextLink(`${base}/users/${owner.id}/drive/${resourcePath}`, query, encodeSkipToken([last.name.toLowerCase(), last.id])) }
      : {}),
  });
}
