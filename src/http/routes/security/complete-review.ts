import { completeReview } from '../../../cases/case-service.ts';
import { toGraphRequest } from '../../../cases/subject-rights-request.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { requesterOf } from '../../requester.ts';
import { collectionContext, COLLECTION, requireCaseWrite, type CaseRoute } from './request-shared.ts';

/**
 * POST /{version}/security/subjectRightsRequests/{id}/completeReview (extension action): the
 * officer has finished the review; contentReview and generateReport complete, and the final
 * report and attachment become available. 200 with the case.
 */
export const completeRequestReview: CaseRoute = (app, deps, ctx) => {
  app.post<{ Params: { id: string } }>(`${COLLECTION}/:id/completeReview`, async (request, reply) => {
    requireCaseWrite(request.caller);
    const view = await completeReview(ctx, request.caller.tenantId, request.params.id, requesterOf(request.caller), deps.clock());
    return sendGraphJson(reply, 200, { '@odata.context': `${collectionContext(deps, request.graphVersion)}/$entity`, ...toGraphRequest(view) });
  });
};
