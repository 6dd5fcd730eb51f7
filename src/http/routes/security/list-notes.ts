import { getRequest } from '../../../cases/case-service.ts';
import { toGraphNote } from '../../../cases/subject-rights-request.ts';
import { listNotes } from '../../../db/queries/subject-rights-requests.ts';
import { graphBase } from '../../app-deps.ts';
import { encodeSkipToken } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';
import { COLLECTION, decodeTimeIdCursor, requireCaseRead, type CaseRoute } from './request-shared.ts';

/** GET /{version}/security/subjectRightsRequests/{id}/notes: oldest first, paged. */
export const listRequestNotes: CaseRoute = (app, deps) => {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(`${COLLECTION}/:id/notes`, async (request, reply) => {
    requireCaseRead(request.caller);
    const query = request.query;
    const { top } = readListQuery(query, { options: ['$top', '$skiptoken'], top: [100, 500] });
    const cursor = decodeTimeIdCursor(query.$skiptoken);
    const view = await getRequest(deps.db, request.caller.tenantId, request.params.id);
    const rows = await listNotes(deps.db, view.tenant_id, view.id, { limit: top + 1, ...(cursor ? { after: { at: cursor[0], id: cursor[1] } } : {}) });
    const base = graphBase(deps, request.graphVersion);
    return sendPage(reply, rows, {
      top,
      query,
      url: `${base}${COLLECTION}/${view.id}/notes`,
      context: `${base}/$metadata#security/subjectRightsRequests('${view.id}')/notes`,
      render: toGraphNote,
      skipToken: (last) => encodeSkipToken([last.cursor, last.id]),
    });
  });
};
