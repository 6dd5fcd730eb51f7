import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { listOperations } from '../../../db/queries/operations.ts';
import { GRAPH_OPERATION_STATUSES, OPERATION_PROPERTIES, toGraphOperation, type OperationStatus } from '../../../domain/operation.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphObject } from '../../graph-reply.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN, parseFilter, selectProperties } from '../../odata.ts';
import { nextLink, readListQuery } from '../../paging.ts';
import { OPERATION_PAGE_RESPONSE } from './operation-schema.ts';

/** A real UTC instant to the microsecond (no 30 February, no year 0), as listOperations writes it. */
function isCursorTime(s: string): boolean {
  if (!/^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(s)) return false;
  const ms = Date.parse(s);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === s.slice(0, 19);
}

/** GET /{version}/dataPolicyOperations: the caller's tenant, newest first (docs/architecture.md#the-operation-resource). */
export function listOperationsRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/dataPolicyOperations', { schema: { response: OPERATION_PAGE_RESPONSE } }, async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['User.Export.All', 'User.Read.All']);
    const query = request.query;
    const { top, select } = readListQuery(query, { options: ['$select', '$top', '$skiptoken', '$filter'], top: [100, 1000], properties: OPERATION_PROPERTIES });
    let status: OperationStatus | undefined;
    let userId: string | undefined;
    for (const term of parseFilter(query.$filter, ['status', 'userId'])) {
      if (term.property === 'status') {
        if (!GRAPH_OPERATION_STATUSES.includes(term.value)) {
          throw GraphError.badRequest(`Invalid $filter: status must be one of ${GRAPH_OPERATION_STATUSES.join(', ')}.`);
        }
        status = term.value as OperationStatus;
      } else {
        if (!GUID_PATTERN.test(term.value)) throw GraphError.badRequest('Invalid $filter: userId must be a GUID.');
        userId = term.value.toLowerCase();
      }
    }
    // A forged cursor must be a 400, not a PostgreSQL cast error (500).
    const cursor = decodeSkipToken(query.$skiptoken, 2, ([at, id]) => isCursorTime(at!) && GUID_PATTERN.test(id!)) as [string, string] | undefined;
    const rows = await listOperations(deps.db, caller.tenantId, {
      limit: top + 1,
      status,
      userId,
      ...(cursor ? { after: { submittedAt: cursor[0], id: cursor[1] } } : {}),
    });
    const page = rows.slice(0, top);
    const last = page[page.length - 1];
    const base = graphBase(deps, request.graphVersion);
    // Not sendPage: this list's reply goes through its response schema (the hot polling path).
    return sendGraphObject(reply, 200, {
      '@odata.context': `${base}/$metadata#dataPolicyOperations${select ? `(${select.join(',')})` : ''}`,
      value: page.map((row) => selectProperties(toGraphOperation(row), select)),
      ...(rows.length > top && last
        ? { '@odata.nextLink': nextLink(`${base}/dataPolicyOperations`, query, encodeSkipToken([last.submitted_cursor, last.id])) }
        : {}),
    });
  });
}
