import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { getRequest, requireReportReady } from '../../../cases/case-service.ts';
import { finalReport } from '../../../cases/final-report.ts';
import type { RequestView } from '../../../cases/subject-rights-request.ts';
import { findPrivacyStatement } from '../../../db/queries/privacy-statements.ts';
import type { AppDeps } from '../../app-deps.ts';
import { rejectUnknownOptions } from '../../odata.ts';
import { finalFileUrl, wantsDownloadUrl } from './final-file-url.ts';
import { COLLECTION, requireCaseRead, type CaseRoute } from './request-shared.ts';

/**
 * GET /{version}/security/subjectRightsRequests/{id}/getFinalReport: the CSV report, streamed;
 * with `Prefer: dsr.downloadUrl`, a short-lived URL of it instead (final-file-url.ts).
 */
export const getFinalReport: CaseRoute = (app, deps) => {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(`${COLLECTION}/:id/getFinalReport`, async (request, reply) => {
    requireCaseRead(request.caller);
    rejectUnknownOptions(request.query, []);
    const view = await getRequest(deps.db, request.caller.tenantId, request.params.id);
    requireReportReady(view);
    if (wantsDownloadUrl(request)) return finalFileUrl(deps, reply, view, 'report');
    return sendFinalReport(deps, reply, view);
  });
};

/** The CSV report of a case whose report is ready. */
export async function sendFinalReport(deps: AppDeps, reply: FastifyReply, view: RequestView): Promise<FastifyReply> {
  const statement = await findPrivacyStatement(deps.db, view.tenant_id);
  return reply
    .code(200)
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="subject-rights-request-${view.id}-report.csv"`)
    .header('x-content-type-options', 'nosniff')
    .send(Readable.from(finalReport(deps.db, view, statement?.statement)));
}
