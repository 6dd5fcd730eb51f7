import { getRequest } from '../../../cases/case-service.ts';
import { toGraphNote } from '../../../cases/subject-rights-request.ts';
import { listNotes } from '../../../db/queries/subject-rights-requests.ts';
import { graphBase } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { encodeSkipToken, parseTop, rejectUnknownOptions } from '../../odata.ts';
import { nextLink } from '../../paging.ts';
import { COLLECTION, decodeTimeIdCursor, requireCaseRead, type CaseRoute } from './request-shared.ts';

/** GET /{version}/security/subjectRightsRequests/{id}/notes: oldest first, paged. */
export const listRequestNotes: CaseRoute = (app, deps) => {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(`${COLLECTION}/:id/notes`, async (request, reply) => {
    requireCaseRead(request.caller);
    const query = request.query;
    rejectUnknownOptions(query, ['$top', '$skiptoken']);
    const top = parseTop(query.$top, 100, 500);
    const cursor = decodeTimeIdCursor(query.$skiptoken);
    const view = await getRequest(deps.db, request.caller.tenantId, request.params.id);
    const rows = await listNotes(deps.db, view.tenant_id, view.id, { limit: top + 1, ...(cursor ? { after: { at: cursor[0], id: cursor[1] } } : {}) });
    const page = rows.slice(0, top);
    const last = page[page.length - 1];
    const base = `${graphBase(deps, request.graphVersion)}${COLLECTION}/${view.id}/notes`;
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#security/subjectRightsRequests('${view.id}')/notes`,
      value: page.map(toGraphNote),
      ...(rows.length > top && last ? { '@odata.nextLink': nextLink(base, query, encodeSkipToken([last.cursor, last.id])) } : {}),
    });
  });
};
