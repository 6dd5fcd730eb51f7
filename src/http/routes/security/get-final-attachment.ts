import { getRequest, requireReportReady } from '../../../cases/case-service.ts';
import { finalAttachment } from '../../../cases/final-attachment.ts';
import { GraphError } from '../../../graph-error.ts';
import { rejectUnknownOptions } from '../../odata.ts';
import { COLLECTION, requireCaseRead, type CaseRoute } from './request-shared.ts';

/**
 * GET /{version}/security/subjectRightsRequests/{id}/getFinalAttachment: the zip, streamed as it
 * is written. A storage failure after the first byte can only cut the response short (the status
 * is sent by then); the zip's central directory is then missing and every zip reader says so.
 */
export const getFinalAttachment: CaseRoute = (app, deps, ctx) => {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(`${COLLECTION}/:id/getFinalAttachment`, async (request, reply) => {
    requireCaseRead(request.caller);
    rejectUnknownOptions(request.query, []);
    const view = await getRequest(deps.db, request.caller.tenantId, request.params.id);
    requireReportReady(view);
    if (!ctx.storage || !view.storage_container) {
      throw GraphError.serviceUnavailable('The storage of case packages is not configured (DSR_CASES_STORAGE).', deps.config.retryAfterSeconds);
    }
    const abort = new AbortController();
    reply.raw.on('close', () => abort.abort());
    const zip = finalAttachment(deps.db, ctx.storage, view, deps.clock(), abort.signal);
    zip.on('error', (err) => request.log.warn({ err: String(err), subjectRightsRequestId: view.id }, 'final attachment stopped'));
    return reply.code(200)
      .type('application/zip')
      .header('content-disposition', `attachment; filename="subject-rights-request-${view.id}.zip"`)
      .header('x-content-type-options', 'nosniff')
      .send(zip);
  });
};
