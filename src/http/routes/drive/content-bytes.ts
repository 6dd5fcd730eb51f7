import type { FastifyReply, FastifyRequest } from 'fastify';
import { insertDriveActivities } from '../../../db/queries/drive-activities.ts';
import { noneMatchHits, parseRange } from '../../../domain/byte-range.ts';
import { contentETag, itemCTag, itemETag, type DriveItemView, type IdentitySet } from '../../../domain/drive-item.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { activity } from '../../../drive/drive-activity.ts';
import { activityContext } from './drive-shared.ts';

/**
 * A file's bytes: `304` when If-None-Match names its content ETag, eTag or cTag (as OneDrive),
 * `206` with Content-Range for one satisfiable `bytes=` range, `416` with `Content-Range: bytes
 * *\/{size}` for an unsatisfiable one, the whole body (200) otherwise, multiple ranges included.
 * A FileDownloaded record is written for every answer that carries bytes. The stream is opened
 * before anything is recorded or sent, so missing bytes are a clean 500, not a truncated 200.
 */
export async function sendContentBytes(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  item: DriveItemView,
  actor: { by: IdentitySet; appId: string | null },
): Promise<FastifyReply> {
  if (item.is_folder || item.content_sha256 === null) {
    throw GraphError.invalidRequest(`'${item.name}' is a folder; only files have content.`);
  }
  const etag = contentETag(item.content_sha256);
  reply.header('etag', etag).header('accept-ranges', 'bytes');
  const tags = [etag, itemETag(item), itemCTag(item) ?? etag];
  if (noneMatchHits(request.headers['if-none-match'], tags)) return reply.code(304).send();
  const range = parseRange(request.headers.range, item.size);
  if (range.kind === 'unsatisfiable') {
    throw new GraphError(416, 'invalidRange', `The requested range is not satisfiable; the file has ${item.size} bytes.`, {
      'content-range': `bytes */${item.size}`,
    });
  }
  const stream = await deps.contentStore.get(item.content_sha256, range.kind === 'partial' ? range : undefined);
  try {
    const ctx = activityContext(request, { tenant_id: item.tenant_id, id: item.owner_user_id }, actor.by, actor.appId, deps.clock());
    await insertDriveActivities(deps.db, [activity(ctx, 'FileDownloaded', item.id, item.path)]);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  reply
    .header('content-type', item.mime_type ?? 'application/octet-stream')
    // The bytes are the uploader's: never rendered as a page of this origin.
    .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(item.name)}`)
    .header('x-content-type-options', 'nosniff');
  if (range.kind === 'partial') {
    return reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${item.size}`)
      .header('content-length', String(range.end - range.start + 1))
      .send(stream);
  }
  return reply.code(200).header('content-length', String(item.size)).send(stream);
}
