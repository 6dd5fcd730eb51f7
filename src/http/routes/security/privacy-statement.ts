import { parsePrivacyStatement } from '../../../cases/privacy-statement.ts';
import { identitySetOf } from '../../../cases/subject-rights-request.ts';
import { findPrivacyStatement, upsertPrivacyStatement, type PrivacyStatementRow } from '../../../db/queries/privacy-statements.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { graphDateTime } from '../../odata.ts';
import { requesterOf } from '../../requester.ts';
import { requireCaseRead, requireCaseWrite, type CaseRoute } from './request-shared.ts';

const PATH = '/security/privacyStatement';

function body(deps: AppDeps, version: string, row: PrivacyStatementRow): Record<string, unknown> {
  return {
    '@odata.context': `${graphBase(deps, version)}/$metadata#security/privacyStatement/$entity`,
    ...row.statement,
    lastModifiedBy: row.updated_by,
    lastModifiedDateTime: graphDateTime(row.updated_at),
  };
}

/**
 * GET and PUT /{version}/security/privacyStatement (extension): the tenant's Art. 15 statement,
 * carried by every final report (and by packages, as PrivacyStatement.json). 404 until set.
 */
export const privacyStatementRoutes: CaseRoute = (app, deps) => {
  app.get(PATH, async (request, reply) => {
    requireCaseRead(request.caller);
    const row = await findPrivacyStatement(deps.db, request.caller.tenantId);
    if (!row) throw GraphError.notFound('No privacy statement has been set for this tenant.');
    return sendGraphJson(reply, 200, body(deps, request.graphVersion, row));
  });
  app.put(PATH, async (request, reply) => {
    requireCaseWrite(request.caller);
    const statement = parsePrivacyStatement(request.body);
    const row = await upsertPrivacyStatement(deps.db, request.caller.tenantId, statement, identitySetOf(requesterOf(request.caller)), deps.clock());
    return sendGraphJson(reply, 200, body(deps, request.graphVersion, row));
  });
};
