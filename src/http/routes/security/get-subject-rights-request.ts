import { getRequest } from '../../../cases/case-service.ts';
import { REQUEST_PROPERTIES, toGraphRequest } from '../../../cases/subject-rights-request.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { parseSelect, rejectUnknownOptions, selectProperties } from '../../odata.ts';
import { collectionContext, COLLECTION, requireCaseRead, type CaseRoute } from './request-shared.ts';

/** GET /{version}/security/subjectRightsRequests/{id} ($select). */
export const getSubjectRightsRequest: CaseRoute = (app, deps) => {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(`${COLLECTION}/:id`, async (request, reply) => {
    requireCaseRead(request.caller);
    rejectUnknownOptions(request.query, ['$select']);
    const select = parseSelect(request.query.$select, REQUEST_PROPERTIES);
    const view = await getRequest(deps.db, request.caller.tenantId, request.params.id);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${collectionContext(deps, request.graphVersion, select)}/$entity`,
      ...selectProperties(toGraphRequest(view), select),
    });
  });
};
