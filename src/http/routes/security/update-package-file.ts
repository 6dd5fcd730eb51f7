import { setFileExclusion } from '../../../cases/case-service.ts';
import { toGraphPackageFile } from '../../../cases/package-files.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { requesterOf } from '../../requester.ts';
import { COLLECTION, requireCaseWrite, type CaseRoute } from './request-shared.ts';

function parseExclusion(raw: unknown): { excluded: boolean; reason: string | null } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw GraphError.badRequest('The request body must be a JSON object.');
  const body = raw as Record<string, unknown>;
  const unknown = Object.keys(body).find((k) => k !== 'excluded' && k !== 'exclusionReason');
  if (unknown !== undefined) throw GraphError.badRequest(`Property '${unknown}' cannot be set on a package file; settable: excluded, exclusionReason.`);
  if (typeof body.excluded !== 'boolean') throw GraphError.badRequest('excluded is required: true or false.');
  if (!body.excluded) {
    if (body.exclusionReason !== undefined && body.exclusionReason !== null) throw GraphError.badRequest('exclusionReason is only set when excluded is true.');
    return { excluded: false, reason: null };
  }
  const reason = body.exclusionReason;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 1000) {
    throw GraphError.badRequest(
      'exclusionReason is required when excluding a file: why it is left out (at most 1,000 characters), e.g. "another person\'s data".',
    );
  }
  return { excluded: true, reason };
}

/**
 * PATCH /{version}/security/subjectRightsRequests/{id}/packageFiles/{fileId} (extension):
 * `{"excluded": true, "exclusionReason": "…"}` leaves the file out of the final attachment,
 * `{"excluded": false}` puts it back. Only while the contentReview stage is current.
 */
export const updateRequestPackageFile: CaseRoute = (app, deps, ctx) => {
  app.patch<{ Params: { id: string; fileId: string } }>(`${COLLECTION}/:id/packageFiles/:fileId`, async (request, reply) => {
    requireCaseWrite(request.caller);
    const change = parseExclusion(request.body);
    const file = await setFileExclusion(
      ctx,
      request.caller.tenantId,
      request.params.id,
      requesterOf(request.caller),
      request.params.fileId,
      change,
      deps.clock(),
    );
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#security/subjectRightsRequests('${request.params.id.toLowerCase()}')/packageFiles/$entity`,
      ...toGraphPackageFile(file),
    });
  });
};
