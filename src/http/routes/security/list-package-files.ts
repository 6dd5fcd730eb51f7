import { getRequest } from '../../../cases/case-service.ts';
import { toGraphPackageFile } from '../../../cases/package-files.ts';
import { listPackageFiles } from '../../../db/queries/subject-rights-requests.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { decodeSkipToken, encodeSkipToken, parseTop, rejectUnknownOptions } from '../../odata.ts';
import { nextLink } from '../../paging.ts';
import { COLLECTION, requireCaseRead, type CaseRoute } from './request-shared.ts';

/**
 * GET /{version}/security/subjectRightsRequests/{id}/packageFiles (extension): the files of the
 * case's package in package order, each with whether it is excluded and why.
 */
export const listRequestPackageFiles: CaseRoute = (app, deps) => {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(`${COLLECTION}/:id/packageFiles`, async (request, reply) => {
    requireCaseRead(request.caller);
    const query = request.query;
    rejectUnknownOptions(query, ['$top', '$skiptoken']);
    const top = parseTop(query.$top, 200, 1000);
    const cursor = decodeSkipToken(query.$skiptoken, 1) as [string] | undefined;
    if (cursor && !/^\d{1,9}$/.test(cursor[0])) throw GraphError.badRequest('Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.');
    const view = await getRequest(deps.db, request.caller.tenantId, request.params.id);
    const rows = view.operation_id
      ? await listPackageFiles(deps.db, view.tenant_id, view.id, view.operation_id, { afterSeq: cursor ? Number(cursor[0]) : -1, limit: top + 1 })
      : [];
    const page = rows.slice(0, top);
    const last = page[page.length - 1];
    const base = `${graphBase(deps, request.graphVersion)}${COLLECTION}/${view.id}/packageFiles`;
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#security/subjectRightsRequests('${view.id}')/packageFiles`,
      value: page.map(toGraphPackageFile),
      ...(rows.length > top && last ? { '@odata.nextLink': nextLink(base, query, encodeSkipToken([String(last.seq)])) } : {}),
    });
  });
};
