import type { FastifyInstance } from 'fastify';
import { SIGN_IN_PROPERTIES, toGraphSignIn } from '../../../domain/sign-in.ts';
import { requirePermissions } from '../../../auth/permissions.ts';
import { listSignIns, type SignInQuery } from '../../../db/queries/sign-ins.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { dateBounds, guidFilterValue, parseDateOrderBy, parseFilter, selectProperties } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';
import { decodeAuditCursor, encodeAuditCursor } from './audit-log-cursor.ts';

// Graph's page size for sign-ins: 1,000 by default and at most.
const SIGN_IN_PAGE = 1000;

/**
 * GET /{version}/auditLogs/signIns: the caller's tenant, newest first ($orderby=createdDateTime
 * [asc|desc]). $filter: userId, userPrincipalName and appDisplayName with eq,
 * startswith(userPrincipalName|appDisplayName, '…'), createdDateTime with ge/gt/le/lt/eq, joined
 * by `and`; $select, $top (default and maximum 1,000, as Graph) and keyset paging.
 */
export function listSignInsRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/auditLogs/signIns', async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['AuditLog.Read.All']);
    const query = request.query;
    const { top, select } = readListQuery(query, {
      options: ['$select', '$top', '$skiptoken', '$filter', '$orderby'],
      top: [SIGN_IN_PAGE, SIGN_IN_PAGE],
      properties: SIGN_IN_PROPERTIES,
    });
    const terms = parseFilter(query.$filter, ['userId', 'userPrincipalName', 'appDisplayName'], {
      dates: ['createdDateTime'],
      startsWith: ['userPrincipalName', 'appDisplayName'],
    });
    const filter: Omit<SignInQuery, 'limit'> = { created: dateBounds(terms, 'createdDateTime'), order: parseDateOrderBy(query.$orderby, 'createdDateTime') };
    for (const term of terms) {
      const prefix = term.operator === 'startswith';
      if (term.property === 'userId') filter.userId = guidFilterValue('userId', term.value);
      else if (term.property === 'userPrincipalName') filter[prefix ? 'userPrincipalNamePrefix' : 'userPrincipalName'] = term.value;
      else if (term.property === 'appDisplayName') filter[prefix ? 'appDisplayNamePrefix' : 'appDisplayName'] = term.value;
    }
    const after = decodeAuditCursor(query.$skiptoken);
    const rows = await listSignIns(deps.db, caller.tenantId, { limit: top + 1, ...filter, after });
    const base = graphBase(deps, request.graphVersion);
    return sendPage(reply, rows, {
      top,
      query,
      url: `${base}/auditLogs/signIns`,
      context: `${base}/$metadata#auditLogs/signIns${select ? `(${select.join(',')})` : ''}`,
      render: (row) => selectProperties(toGraphSignIn(row), select),
      skipToken: encodeAuditCursor,
    });
  });
}
