import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { ContentTooLargeError } from '../../../content/content-store.ts';
import { inTransaction } from '../../../db/pool.ts';
import { parseDrivePath, SIMPLE_UPLOAD_MAX_BYTES } from '../../../domain/drive-item.ts';
import { GraphError } from '../../../graph-error.ts';
import { checkTenantStorage } from '../../../quota/upload-quotas.ts';
import type { AppDeps } from '../../app-deps.ts';
import { commitFileToDrive, recordStoredContent } from '../../../drive/commit-file.ts';
import { activityContext, actorOf, driveItemContext, parseConflictBehavior, resolveDriveOwner, sendDriveItem, withRawBody } from './drive-shared.ts';
import { itemLinks } from './item-rendering.ts';

function tooLarge(): GraphError {
  return GraphError.tooLarge(`A simple upload is limited to ${SIMPLE_UPLOAD_MAX_BYTES} bytes (250 MiB); upload larger files with createUploadSession.`);
}

/**
 * PUT /{version}/users/{id | upn}/drive/root:/{path}:/content: simple upload (≤ 250 MiB), streamed
 * to the content store. 201 with the new driveItem, 200 when an existing file was replaced.
 */
export function uploadContentRoute(app: FastifyInstance, deps: AppDeps): void {
  withRawBody(app, (scope) => {
    scope.put<{ Params: { user: string }; Querystring: Record<string, string> }>(
      '/users/:user/drive/root::/*',
      {
        // Fastify enforces bodyLimit only on bodies it buffers; this stream is limited below.
        bodyLimit: SIMPLE_UPLOAD_MAX_BYTES,
      },
      async (request, reply) => {
        const path = parseDrivePath(request.url);
        if (path.action !== 'content' || path.segments.length === 0) {
          throw GraphError.invalidRequest('Upload a file with PUT …/drive/root:/{path}:/content.');
        }
        const declared = Number(request.headers['content-length']);
        if (Number.isFinite(declared) && declared > SIMPLE_UPLOAD_MAX_BYTES) {
          // The client is still sending: close the connection after the answer instead of reading 250+ MiB.
          reply.header('connection', 'close');
          throw tooLarge();
        }
        const caller = request.caller;
        const owner = await resolveDriveOwner(deps, caller, request.params.user, 'write');
        if (Number.isFinite(declared)) await checkTenantStorage(deps.db, deps.config, owner.tenant_id, declared, deps.clock());
        const conflictBehavior = parseConflictBehavior(request.query['@microsoft.graph.conflictBehavior']);
        const actor = await actorOf(deps, caller, owner);
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        const content = await deps.contentStore.put(body, { maxBytes: SIMPLE_UPLOAD_MAX_BYTES }).catch((err: unknown) => {
          if (err instanceof ContentTooLargeError) {
            reply.header('connection', 'close');
            throw tooLarge();
          }
          throw err;
        });
        await recordStoredContent(deps, content);
        // A body sent without Content-Length is counted once stored; over quota, it is left to the collector.
        if (!Number.isFinite(declared)) await checkTenantStorage(deps.db, deps.config, owner.tenant_id, content.size, deps.clock());
        const ctx = activityContext(request, owner, actor, caller.appId || null, deps.clock());
        const { item, created } = await inTransaction(deps.db, (tx) =>
          commitFileToDrive(tx, {
            owner,
            segments: path.segments,
            content,
            conflictBehavior,
            ctx,
          }),
        );
        return sendDriveItem(
          reply,
          created ? 201 : 200,
          driveItemContext(deps, request, owner.id),
          await itemLinks(deps, request.graphVersion, actor, caller.appId || null),
          item,
        );
      },
    );
  });
}
