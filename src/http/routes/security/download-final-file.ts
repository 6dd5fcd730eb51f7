import type { FastifyInstance } from 'fastify';
import { getRequest, requireReportReady } from '../../../cases/case-service.ts';
import { createCaseStorage } from '../../../cases/case-storage.ts';
import type { AppDeps } from '../../app-deps.ts';
import { FINAL_FILE_PATH, verifyFinalFileUrl } from './final-file-url.ts';
import { sendFinalAttachment } from './get-final-attachment.ts';
import { sendFinalReport } from './get-final-report.ts';

/**
 * GET {publicUrl}/downloads/requests/{token}: the final report or attachment a URL of
 * final-file-url.ts names, without Authorization. The case is read again in the grant's tenant:
 * one that is gone or purged since answers as the Graph route would.
 */
export function downloadFinalFileRoute(app: FastifyInstance, deps: AppDeps): void {
  const storage = createCaseStorage(deps.config.cases.storage);
  app.get<{ Params: { token: string } }>(FINAL_FILE_PATH, async (request, reply) => {
    const grant = await verifyFinalFileUrl(deps, request.params.token);
    const view = await getRequest(deps.db, grant.tenantId, grant.requestId);
    requireReportReady(view);
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    return grant.file === 'report' ? sendFinalReport(deps, reply, view) : sendFinalAttachment(deps, storage, request, reply, view);
  });
}
