import type { FastifyInstance } from 'fastify';
import { SIGN_IN_PROPERTIES, toGraphSignIn } from '../../../activity/sign-in.ts';
import { requirePermissions } from '../../../auth/permissions.ts';
import { listSignIns } from '../../../db/queries/sign-ins.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { guidFilterValue, parseFilter, parseSelect, parseTop, rejectUnknownOptions, selectProperties } from '../../odata.ts';
import { nextLink } from '../../paging.ts';
import { decodeAuditCursor, encodeAuditCursor } from './audit-log-cursor.ts';

/**
 * GET /{version}/auditLogs/signIns: the caller's tenant, newest first, $filter on userId and/or
 * userPrincipalName, $select, $top (default 100, max 1000) and keyset paging.
 */
export function listSignInsRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/auditLogs/signIns', async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['AuditLog.Read.All']);
    const query = request.query;
    rejectUnknownOptions(query, ['$select', '$top', '$skiptoken', '$filter']);
    const select = parseSelect(query.$select, SIGN_IN_PROPERTIES);
    const top = parseTop(query.$top, 100, 1000);
    let userId: string | undefined;
    let userPrincipalName: string | undefined;
    for (const term of parseFilter(query.$filter, ['userId', 'userPrincipalName'])) {
      if (term.property === 'userId') userId = guidFilterValue('userId', term.value);
      else userPrincipalName = term.value;
    }
    const after = decodeAuditCursor(query.$skiptoken);
    const rows = await listSignIns(deps.db, caller.tenantId, { limit: top + 1, userId, userPrincipalName, after });
    const page = rows.slice(0, top);
    const last = page[page.length - 1];
    const base = graphBase(deps, request.graphVersion);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${base}/$metadata#auditLogs/signIns${select ? `(${select.join(',')})` : ''}`,
      value: page.map((row) => selectProperties(toGraphSignIn(row), select)),
      ...(rows.length > top && last ? { '@odata.nextLink': nextLink(`${base}/auditLogs/signIns`, query, encodeAuditCursor(last)) } : {}),
    });
  });
}
