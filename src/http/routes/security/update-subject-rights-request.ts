import { updateRequestCase } from '../../../cases/case-service.ts';
import { parsePatchBody } from '../../../cases/request-input.ts';
import { toGraphRequest } from '../../../cases/subject-rights-request.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { requesterOf } from '../../requester.ts';
import { collectionContext, COLLECTION, requireCaseWrite, type CaseRoute } from './request-shared.ts';

/**
 * PATCH /{version}/security/subjectRightsRequests/{id}: displayName, description,
 * internalDueDateTime (later only with "@dsr.note"), status "closed". 200 with the case.
 */
export const updateSubjectRightsRequest: CaseRoute = (app, deps, ctx) => {
  app.patch<{ Params: { id: string } }>(`${COLLECTION}/:id`, async (request, reply) => {
    requireCaseWrite(request.caller);
    const view = await updateRequestCase(
      ctx,
      request.caller.tenantId,
      request.params.id,
      requesterOf(request.caller),
      (row) => parsePatchBody(request.body, row),
      deps.clock(),
    );
    return sendGraphJson(reply, 200, { '@odata.context': `${collectionContext(deps, request.graphVersion)}/$entity`, ...toGraphRequest(view) });
  });
};
