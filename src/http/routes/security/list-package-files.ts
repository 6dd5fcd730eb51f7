import { getRequest } from '../../../cases/case-service.ts';
import { toGraphPackageFile } from '../../../cases/package-files.ts';
import { listPackageFiles } from '../../../db/queries/subject-rights-requests.ts';
import { graphBase } from '../../app-deps.ts';
import { decodeSkipToken, encodeSkipToken } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';
import { COLLECTION, requireCaseRead, type CaseRoute } from './request-shared.ts';

/**
 * GET /{version}/security/subjectRightsRequests/{id}/packageFiles (extension): the files of the
 * case's package in package order, each with whether it is excluded and why.
 */
export const listRequestPackageFiles: CaseRoute = (app, deps) => {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(`${COLLECTION}/:id/packageFiles`, async (request, reply) => {
    requireCaseRead(request.caller);
    const query = request.query;
    const { top } = readListQuery(query, { options: ['$top', '$skiptoken'], top: [200, 1000] });
    const cursor = decodeSkipToken(query.$skiptoken, 1, ([seq]) => /^\d{1,9}$/.test(seq!));
    const view = await getRequest(deps.db, request.caller.tenantId, request.params.id);
    const rows = view.operation_id
      ? await listPackageFiles(deps.db, view.tenant_id, view.id, view.operation_id, { afterSeq: cursor ? Number(cursor[0]) : -1, limit: top + 1 })
      : [];
    const base = graphBase(deps, request.graphVersion);
    return sendPage(reply, rows, {
      top,
      query,
      url: `${base}${COLLECTION}/${view.id}/packageFiles`,
      context: `${base}/$metadata#security/subjectRightsRequests('${view.id}')/packageFiles`,
      render: toGraphPackageFile,
      skipToken: (last) => encodeSkipToken([String(last.seq)]),
    });
  });
};
