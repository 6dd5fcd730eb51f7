import { createRequest } from '../../../cases/case-service.ts';
import { parseCreateBody } from '../../../cases/request-input.ts';
import { toGraphRequest } from '../../../cases/subject-rights-request.ts';
import { graphBase } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { requesterOf } from '../../requester.ts';
import { collectionContext, COLLECTION, requireCaseWrite, type CaseRoute } from './request-shared.ts';

/** POST /{version}/security/subjectRightsRequests: 201 with the case; its retrieval starts at once. */
export const createSubjectRightsRequest: CaseRoute = (app, deps, ctx) => {
  app.post(COLLECTION, async (request, reply) => {
    requireCaseWrite(request.caller);
    const now = deps.clock();
    const input = parseCreateBody(request.body, now, deps.config.cases.duePeriods);
    const view = await createRequest(ctx, request.caller.tenantId, requesterOf(request.caller), input, request.ip, now);
    request.log.info({ subjectRightsRequestId: view.id, tenantId: view.tenant_id, operationId: view.operation_id }, 'subject rights request created');
    reply.header('location', `${graphBase(deps, request.graphVersion)}${COLLECTION}/${view.id}`);
    return sendGraphJson(reply, 201, { '@odata.context': `${collectionContext(deps, request.graphVersion)}/$entity`, ...toGraphRequest(view) });
  });
};
