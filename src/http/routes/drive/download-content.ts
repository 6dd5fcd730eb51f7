import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../../auth/verify-token.ts';
import { noneMatchHits } from '../../../domain/byte-range.ts';
import { contentETag, itemCTag, itemETag, type DriveItemView } from '../../../domain/drive-item.ts';
import type { UserRow } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { sendContentBytes } from './content-bytes.ts';
import { actorOf, loadItem, resolveDriveOwner } from './drive-shared.ts';
import { itemLinks, renderDriveItem } from './item-rendering.ts';

/** The preference with which a client that does not follow redirects asks for the bytes themselves. */
const DIRECT_CONTENT = /(?:^|[,;\s])return\s*=\s*"?representation"?(?:$|[,;\s])/i;

/**
 * A file's content, as OneDrive serves it: `302 Found` to the item's pre-authenticated
 * @microsoft.graph.downloadUrl (which writes the FileDownloaded record when it is fetched), or
 * `304` when If-None-Match names the current eTag or cTag. A client that cannot follow
 * redirects sends `Prefer: return=representation` and gets the bytes in this response
 * (`Preference-Applied` says so), with the same Range and If-None-Match handling.
 */
export async function sendItemContent(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  caller: Caller,
  owner: UserRow,
  item: DriveItemView,
): Promise<FastifyReply> {
  if (item.is_folder || item.content_sha256 === null) {
    throw GraphError.invalidRequest(`'${item.name}' is a folder; only files have content.`);
  }
  const by = await actorOf(deps, caller, owner);
  const appId = caller.appId || null;
  const prefer = request.headers.prefer;
  if (typeof prefer === 'string' && DIRECT_CONTENT.test(prefer)) {
    reply.header('preference-applied', 'return=representation');
    return sendContentBytes(deps, request, reply, item, { by, appId });
  }
  const tags = [contentETag(item.content_sha256), itemETag(item), itemCTag(item) ?? ''];
  if (noneMatchHits(request.headers['if-none-match'], tags)) return reply.code(304).header('etag', tags[0]!).send();
  const links = await itemLinks(deps, request.graphVersion, by, appId);
  return reply.code(302).header('location', renderDriveItem(links, item)['@microsoft.graph.downloadUrl']).send();
}

/** GET /{version}/users/{id | upn}/drive/items/{itemId}/content */
export function downloadContentRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string; itemId: string } }>('/users/:user/drive/items/:itemId/content', async (request, reply) => {
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    const item = await loadItem(deps, owner, request.params.itemId);
    return sendItemContent(deps, request, reply, request.caller, owner, item);
  });
}
