import { addNote } from '../../../cases/case-service.ts';
import { parseNoteBody } from '../../../cases/request-input.ts';
import { toGraphNote } from '../../../cases/subject-rights-request.ts';
import { graphBase } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { requesterOf } from '../../requester.ts';
import { COLLECTION, requireCaseWrite, type CaseRoute } from './request-shared.ts';

/** POST /{version}/security/subjectRightsRequests/{id}/notes: 201 with the authoredNote. */
export const createRequestNote: CaseRoute = (app, deps, ctx) => {
  app.post<{ Params: { id: string } }>(`${COLLECTION}/:id/notes`, async (request, reply) => {
    requireCaseWrite(request.caller);
    const note = parseNoteBody(request.body);
    const row = await addNote(ctx, request.caller.tenantId, request.params.id, requesterOf(request.caller), note, deps.clock());
    const base = graphBase(deps, request.graphVersion);
    return sendGraphJson(reply, 201, {
      '@odata.context': `${base}/$metadata#security/subjectRightsRequests('${request.params.id.toLowerCase()}')/notes/$entity`,
      ...toGraphNote(row),
    });
  });
};
