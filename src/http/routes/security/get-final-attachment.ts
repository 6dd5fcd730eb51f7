import type { FastifyReply, FastifyRequest } from 'fastify';
import { getRequest, requireReportReady } from '../../../cases/case-service.ts';
import { finalAttachment } from '../../../cases/final-attachment.ts';
import type { CaseStorage } from '../../../cases/case-storage.ts';
import type { RequestView } from '../../../cases/subject-rights-request.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { rejectUnknownOptions } from '../../odata.ts';
import { finalFileUrl, wantsDownloadUrl } from './final-file-url.ts';
import { COLLECTION, requireCaseRead, type CaseRoute } from './request-shared.ts';

/**
 * GET /{version}/security/subjectRightsRequests/{id}/getFinalAttachment: the zip, streamed as it
 * is written; with `Prefer: dsr.downloadUrl`, a short-lived URL of it instead (final-file-url.ts).
 */
export const getFinalAttachment: CaseRoute = (app, deps, ctx) => {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(`${COLLECTION}/:id/getFinalAttachment`, async (request, reply) => {
    requireCaseRead(request.caller);
    rejectUnknownOptions(request.query, []);
    const view = await getRequest(deps.db, request.caller.tenantId, request.params.id);
    requireReportReady(view);
    caseStorage(deps, ctx.storage, view);
    if (wantsDownloadUrl(request)) return finalFileUrl(deps, reply, view, 'attachment');
    return sendFinalAttachment(deps, ctx.storage, request, reply, view);
  });
};

function caseStorage(deps: AppDeps, storage: CaseStorage | undefined, view: RequestView): CaseStorage {
  if (!storage || !view.storage_container) {
    throw GraphError.serviceUnavailable('The storage of case packages is not configured (DSR_CASES_STORAGE).', deps.config.retryAfterSeconds);
  }
  return storage;
}

/**
 * The zip of a case whose report is ready. A storage failure after the first byte can only cut
 * the response short (the status is sent by then); the zip's central directory is then missing
 * and every zip reader says so.
 */
export function sendFinalAttachment(
  deps: AppDeps,
  configured: CaseStorage | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
  view: RequestView,
): FastifyReply {
  const storage = caseStorage(deps, configured, view);
  const abort = new AbortController();
  reply.raw.on('close', () => abort.abort());
  const zip = finalAttachment(deps.db, storage, view, deps.clock(), abort.signal);
  zip.on('error', (err) => request.log.warn({ err: String(err), subjectRightsRequestId: view.id }, 'final attachment stopped'));
  return reply
    .code(200)
    .type('application/zip')
    .header('content-disposition', `attachment; filename="subject-rights-request-${view.id}.zip"`)
    .header('x-content-type-options', 'nosniff')
    .send(zip);
}
