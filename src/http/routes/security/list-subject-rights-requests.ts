import { parseDateTimeOffset } from '../../../cases/request-input.ts';
import { REQUEST_PROPERTIES, REQUEST_STATUSES, REQUEST_TYPES, toGraphRequest, type RequestStatus } from '../../../cases/subject-rights-request.ts';
import { listRequestViews, type RequestListFilter } from '../../../db/queries/subject-rights-requests.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import {
  encodeSkipToken, parseSelect, parseTop, rejectUnknownOptions, selectProperties,
} from '../../odata.ts';
import { nextLink } from '../../paging.ts';
import { collectionContext, COLLECTION, decodeTimeIdCursor, requireCaseRead, type CaseRoute } from './request-shared.ts';

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
      if (!(REQUEST_STATUSES as readonly string[]).includes(m[2]!)) throw GraphError.badRequest(`Invalid $filter: status must be one of ${REQUEST_STATUSES.join(', ')}.`);
      if (filter.status) throw GraphError.badRequest('Invalid $filter: "status" is given more than once.');
      filter.status = m[2] as RequestStatus;
    } else if (m[1] === 'type') {
      if (!(REQUEST_TYPES as readonly string[]).includes(m[2]!)) throw GraphError.badRequest(`Invalid $filter: type must be one of ${REQUEST_TYPES.join(', ')}.`);
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

/**
 * GET /{version}/security/subjectRightsRequests: the tenant's cases, earliest due first.
 * Overdue cases: $filter=status eq 'active' and internalDueDateTime lt <now>.
 */
export const listSubjectRightsRequests: CaseRoute = (app, deps) => {
  app.get<{ Querystring: Record<string, string> }>(COLLECTION, async (request, reply) => {
    requireCaseRead(request.caller);
    const query = request.query;
    rejectUnknownOptions(query, ['$select', '$top', '$skiptoken', '$filter']);
    const select = parseSelect(query.$select, REQUEST_PROPERTIES);
    const top = parseTop(query.$top, 100, 500);
    const filter = parseRequestFilter(query.$filter);
    const cursor = decodeTimeIdCursor(query.$skiptoken);
    const rows = await listRequestViews(deps.db, request.caller.tenantId, {
      limit: top + 1, ...filter, ...(cursor ? { after: { due: cursor[0], id: cursor[1] } } : {}),
    });
    const page = rows.slice(0, top);
    const last = page[page.length - 1];
    const base = graphBase(deps, request.graphVersion);
    return sendGraphJson(reply, 200, {
      '@odata.context': collectionContext(deps, request.graphVersion, select),
      value: page.map((row) => selectProperties(toGraphRequest(row), select)),
      ...(rows.length > top && last ? { '@odata.nextLink': nextLink(`${base}${COLLECTION}`, query, encodeSkipToken([last.due_cursor, last.id])) } : {}),
    });
  });
};
