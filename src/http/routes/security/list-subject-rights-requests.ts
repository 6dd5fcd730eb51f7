import { parseDateTimeOffset } from '../../../cases/request-input.ts';
import { REQUEST_PROPERTIES, REQUEST_STATUSES, REQUEST_TYPES, toGraphRequest, type RequestStatus } from '../../../cases/subject-rights-request.ts';
import { listRequestViews, type RequestListFilter, type RequestListOrder, type RequestListRow } from '../../../db/queries/subject-rights-requests.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase } from '../../app-deps.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN, selectProperties } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';
import { collectionContext, COLLECTION, requireCaseRead, type CaseRoute } from './request-shared.ts';

const OPERATORS = { eq: '=', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;
const TERM = /^\s*(status|type)\s+eq\s+'([^']*)'\s*|^\s*internalDueDateTime\s+(eq|lt|le|gt|ge)\s+('?)([0-9T:.+Z-]+)\4\s*/;
const SUPPORTED = "status eq '…', type eq '…', internalDueDateTime lt|le|gt|ge|eq <date-time>, joined by \"and\"";

/** The $filter subset of this collection; anything else is a 400, never silently ignored. */
export function parseRequestFilter(raw: string | undefined): RequestListFilter {
  const filter: RequestListFilter = {};
  if (raw === undefined) return filter;
  let rest = raw;
  for (;;) {
    const m = TERM.exec(rest);
    if (!m) throw GraphError.badRequest(`Invalid $filter: "${raw}". Supported: ${SUPPORTED}.`);
    if (m[1] === 'status') {
      if (!(REQUEST_STATUSES as readonly string[]).includes(m[2]!))
        throw GraphError.badRequest(`Invalid $filter: status must be one of ${REQUEST_STATUSES.join(', ')}.`);
      if (filter.status) throw GraphError.badRequest('Invalid $filter: "status" is given more than once.');
      filter.status = m[2] as RequestStatus;
    } else if (m[1] === 'type') {
      if (!(REQUEST_TYPES as readonly string[]).includes(m[2]!))
        throw GraphError.badRequest(`Invalid $filter: type must be one of ${REQUEST_TYPES.join(', ')}.`);
      if (filter.type) throw GraphError.badRequest('Invalid $filter: "type" is given more than once.');
      filter.type = m[2]!;
    } else {
      const at = parseDateTimeOffset('Invalid $filter: internalDueDateTime', m[5]);
      (filter.due ??= []).push({ op: OPERATORS[m[3] as keyof typeof OPERATORS], at });
      if (filter.due.length > 2) throw GraphError.badRequest('Invalid $filter: internalDueDateTime is compared at most twice (a range).');
    }
    rest = rest.slice(m[0].length);
    if (rest === '') return filter;
    const and = /^and\s+/i.exec(rest);
    if (!and) throw GraphError.badRequest(`Invalid $filter: unexpected "${rest}".`);
    rest = rest.slice(and[0].length);
  }
}

const ORDERS: Record<string, RequestListOrder> = { internalDueDateTime: 'due', createdDateTime: 'created', status: 'status' };

/** $orderby on one of internalDueDateTime (the default), createdDateTime or status, asc or desc. */
export function parseRequestOrder(raw: string | undefined): { order: RequestListOrder; descending: boolean } {
  if (raw === undefined) return { order: 'due', descending: false };
  const m = /^\s*([A-Za-z]+)(?:\s+(asc|desc))?\s*$/i.exec(raw);
  const order = m && Object.hasOwn(ORDERS, m[1]!) ? ORDERS[m[1]!] : undefined;
  if (!m || !order) throw GraphError.badRequest(`Invalid $orderby: "${raw}". Supported: one of ${Object.keys(ORDERS).join(', ')}, with asc or desc.`);
  return { order, descending: m[2]?.toLowerCase() === 'desc' };
}

/** $search="text": a case-insensitive part of the name or of the data subject's mail or name. */
export function parseRequestSearch(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const m = /^"([^"]{1,200})"$/.exec(raw.trim());
  if (!m || m[1]!.trim() === '') throw GraphError.badRequest('Invalid $search: use $search="text" with 1 to 200 characters and no double quote inside.');
  return m[1]!.trim();
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function cursorOf(row: RequestListRow, order: RequestListOrder): string[] {
  if (order === 'status') return [row.status, row.due_cursor, row.id];
  return [order === 'created' ? row.created_cursor : row.due_cursor, row.id];
}

/** The keyset of the previous page's last row in this order; a forged one is a 400, not a cast error. */
function decodeCursor(raw: string | undefined, order: RequestListOrder): string[] | undefined {
  return decodeSkipToken(raw, order === 'status' ? 3 : 2, (cursor) => {
    const [first, at, id] = (order === 'status' ? cursor : ['active', ...cursor]) as [string, string, string];
    return (REQUEST_STATUSES as readonly string[]).includes(first) && INSTANT.test(at) && !Number.isNaN(Date.parse(at)) && GUID_PATTERN.test(id);
  });
}

/**
 * GET /{version}/security/subjectRightsRequests: the tenant's cases, earliest due first unless
 * $orderby says otherwise. Overdue cases: $filter=status eq 'active' and internalDueDateTime lt <now>.
 */
export const listSubjectRightsRequests: CaseRoute = (app, deps) => {
  app.get<{ Querystring: Record<string, string> }>(COLLECTION, async (request, reply) => {
    requireCaseRead(request.caller);
    const query = request.query;
    const { top, select } = readListQuery(query, {
      options: ['$select', '$top', '$skiptoken', '$filter', '$orderby', '$search'],
      top: [100, 500],
      properties: REQUEST_PROPERTIES,
    });
    const filter = parseRequestFilter(query.$filter);
    const text = parseRequestSearch(query.$search);
    const { order, descending } = parseRequestOrder(query.$orderby);
    const after = decodeCursor(query.$skiptoken, order);
    const rows = await listRequestViews(deps.db, request.caller.tenantId, {
      limit: top + 1,
      ...filter,
      ...(text ? { text } : {}),
      order,
      descending,
      ...(after ? { after } : {}),
    });
    return sendPage(reply, rows, {
      top,
      query,
      url: `${graphBase(deps, request.graphVersion)}${COLLECTION}`,
      context: collectionContext(deps, request.graphVersion, select),
      render: (row) => selectProperties(toGraphRequest(row), select),
      skipToken: (last) => encodeSkipToken(cursorOf(last, order)),
    });
  });
};
