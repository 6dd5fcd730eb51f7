import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { listDirectoryAudits, type DirectoryAuditQuery } from '../../../db/queries/directory-audits.ts';
import { toGraphDirectoryAudit } from '../../../domain/directory-audit.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { ANY_TARGET_ID, dateBounds, GUID_PATTERN, guidFilterValue, parseDateOrderBy, parseFilter, selectProperties } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';
import { decodeAuditCursor, encodeAuditCursor } from './audit-log-cursor.ts';

/** Graph's directoryAudit properties, in the order toGraphDirectoryAudit writes them. */
const DIRECTORY_AUDIT_PROPERTIES = [
  'id',
  'category',
  'correlationId',
  'result',
  'resultReason',
  'activityDisplayName',
  'activityDateTime',
  'loggedByService',
  'operationType',
  'initiatedBy',
  'targetResources',
  'additionalDetails',
] as const;

/**
 * GET /{version}/auditLogs/directoryAudits: the caller's tenant, newest first ($orderby=activityDateTime
 * [asc|desc]). $filter: `targetResources/any(t: t/id eq '…')`, `initiatedBy/user/id eq '…'`,
 * `activityDisplayName eq '…'`, `category eq '…'`, activityDateTime with ge/gt/le/lt/eq, joined
 * by `and`; $select, $top (default 100, max 1000), keyset paging.
 */
export function listDirectoryAuditsRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/auditLogs/directoryAudits', async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['AuditLog.Read.All']);
    const query = request.query;
    const { top, select } = readListQuery(query, {
      options: ['$select', '$top', '$skiptoken', '$filter', '$orderby'],
      top: [100, 1000],
      properties: DIRECTORY_AUDIT_PROPERTIES,
    });
    const terms = parseFilter(query.$filter, ['initiatedBy/user/id', 'activityDisplayName', 'category'], { anyTarget: true, dates: ['activityDateTime'] });
    const filter: Omit<DirectoryAuditQuery, 'limit'> = {
      activity: dateBounds(terms, 'activityDateTime'),
      order: parseDateOrderBy(query.$orderby, 'activityDateTime'),
    };
    for (const term of terms) {
      switch (term.property) {
        case 'activityDateTime':
          break;
        // Target ids are strings in Graph (not only users); GUIDs are stored lowercase.
        case ANY_TARGET_ID:
          filter.targetId = GUID_PATTERN.test(term.value) ? term.value.toLowerCase() : term.value;
          break;
        case 'initiatedBy/user/id':
          filter.initiatorUserId = guidFilterValue('initiatedBy/user/id', term.value);
          break;
        case 'activityDisplayName':
          filter.activityDisplayName = term.value;
          break;
        case 'category':
          filter.category = term.value;
          break;
      }
    }
    const after = decodeAuditCursor(query.$skiptoken);
    const rows = await listDirectoryAudits(deps.db, caller.tenantId, { limit: top + 1, ...filter, after });
    const base = graphBase(deps, request.graphVersion);
    return sendPage(reply, rows, {
      top,
      query,
      url: `${base}/auditLogs/directoryAudits`,
      context: `${base}/$metadata#auditLogs/directoryAudits${select ? `(${select.join(',')})` : ''}`,
      render: (row) => selectProperties(toGraphDirectoryAudit(row), select),
      skipToken: encodeAuditCursor,
    });
  });
}
