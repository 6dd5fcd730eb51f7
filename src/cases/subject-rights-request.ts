import { graphDateTime } from '../domain/formats.ts';
import type { OperationStatus, Requester } from '../domain/operation.ts';

export const REQUEST_TYPES = ['export', 'delete', 'access', 'tagForAction'] as const;
export const SUPPORTED_REQUEST_TYPES = ['access', 'export'] as const;
export type SupportedRequestType = (typeof SUPPORTED_REQUEST_TYPES)[number];
export const REQUEST_STATUSES = ['active', 'closed'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export const DATA_SUBJECT_TYPES = ['customer', 'currentEmployee', 'formerEmployee', 'prospectiveEmployee', 'student', 'teacher', 'faculty', 'other'] as const;
export const STAGES = ['contentRetrieval', 'contentReview', 'generateReport', 'caseResolved'] as const;
export type Stage = (typeof STAGES)[number];
export type StageStatus = 'notStarted' | 'current' | 'completed' | 'failed';

/** Graph's identitySet: who created or changed a case. */
export type IdentitySet = Record<string, { id: string | null; displayName: string | null } | null>;

/** The service itself, for the stage changes no person made (the export finishing). */
export const SERVICE_IDENTITY: IdentitySet = { application: { id: null, displayName: 'dsr-export' } };

export function identitySetOf(requester: Requester): IdentitySet {
  return requester.kind === 'application'
    ? { application: { id: requester.appId, displayName: null } }
    : { user: { id: requester.oid, displayName: requester.upn ?? null } };
}

export interface RequestRow {
  tenant_id: string;
  id: string;
  display_name: string;
  description: string | null;
  type: SupportedRequestType;
  data_subject_type: string;
  data_subject: Record<string, unknown>;
  regulations: string[];
  status: RequestStatus;
  internal_due_at: Date;
  created_by: IdentitySet;
  created_at: Date;
  last_modified_by: IdentitySet;
  last_modified_at: Date;
  closed_at: Date | null;
  external_id: string | null;
  include_all_versions: boolean | null;
  include_authored_content: boolean | null;
  pause_after_estimate: boolean | null;
  content_query: string | null;
  subject_user_id: string | null;
  operation_id: string | null;
  storage_container: string | null;
  retrieval_error_code: string | null;
  retrieval_error_message: string | null;
  review_completed_at: Date | null;
  purge_after: Date | null;
  purged_at: Date | null;
}

/** A case as read for the API: the row, its export's state, the counts and the stored history. */
export interface RequestView extends RequestRow {
  op_status: OperationStatus | null;
  op_error_code: string | null;
  op_error_message: string | null;
  op_completed_at: Date | null;
  item_count: number;
  total_size: number;
  excluded_count: number;
  stored_history: StoredHistory[];
}

export interface StoredHistory {
  event_at: string;
  type: string;
  stage: Stage;
  stage_status: StageStatus;
  changed_by: IdentitySet;
}

export interface StageDetail {
  stage: Stage;
  status: StageStatus;
  error: { code: string; message: string } | null;
}

export type RetrievalState = 'notStarted' | 'current' | 'completed' | 'failed';

export function retrievalState(v: Pick<RequestView, 'retrieval_error_code' | 'op_status'>): RetrievalState {
  if (v.retrieval_error_code) return 'failed';
  switch (v.op_status) {
    case 'complete':
      return 'completed';
    case 'failed':
      return 'failed';
    case null:
      return 'notStarted';
    default:
      return 'current';
  }
}

/** True once nobody needs to review any more: the officer finished, or the case asked not to pause. */
export function reviewCompleted(v: Pick<RequestView, 'retrieval_error_code' | 'op_status' | 'review_completed_at' | 'pause_after_estimate'>): boolean {
  return retrievalState(v) === 'completed' && (v.review_completed_at !== null || v.pause_after_estimate === false);
}

/**
 * The four stages, derived: retrieval follows the export operation, review waits for the officer
 * (unless pauseAfterEstimate is false), the report is ready as soon as the review is done (it is
 * rendered when asked for), and the case is resolved when it is closed.
 */
export function stagesOf(v: RequestView): StageDetail[] {
  const retrieval = retrievalState(v);
  const reviewed = reviewCompleted(v);
  const error = v.retrieval_error_code
    ? { code: v.retrieval_error_code, message: v.retrieval_error_message ?? '' }
    : v.op_status === 'failed'
      ? { code: v.op_error_code ?? 'InternalServerError', message: v.op_error_message ?? '' }
      : null;
  return [
    { stage: 'contentRetrieval', status: retrieval, error },
    { stage: 'contentReview', status: retrieval !== 'completed' ? 'notStarted' : reviewed ? 'completed' : 'current', error: null },
    { stage: 'generateReport', status: reviewed ? 'completed' : 'notStarted', error: null },
    { stage: 'caseResolved', status: v.status === 'closed' ? 'completed' : 'notStarted', error: null },
  ];
}

interface HistoryEntry {
  at: Date;
  type: string;
  stage: Stage;
  stageStatus: StageStatus;
  changedBy: IdentitySet;
}

/** Stored changes by people, merged in time order with the service's own (the export ending). */
export function historyOf(v: RequestView): Record<string, unknown>[] {
  const entries: HistoryEntry[] = v.stored_history.map((h) => ({
    at: new Date(h.event_at),
    type: h.type,
    stage: h.stage,
    stageStatus: h.stage_status,
    changedBy: h.changed_by,
  }));
  if (v.op_completed_at && (v.op_status === 'complete' || v.op_status === 'failed')) {
    const ok = v.op_status === 'complete';
    entries.push({
      at: v.op_completed_at,
      type: ok ? 'retrievalCompleted' : 'retrievalFailed',
      stage: 'contentRetrieval',
      stageStatus: ok ? 'completed' : 'failed',
      changedBy: SERVICE_IDENTITY,
    });
    if (ok && v.pause_after_estimate === false) {
      entries.push({ at: v.op_completed_at, type: 'reviewSkipped', stage: 'contentReview', stageStatus: 'completed', changedBy: SERVICE_IDENTITY });
    }
  }
  entries.sort((a, b) => a.at.getTime() - b.at.getTime());
  return entries.map((e) => ({
    type: e.type,
    stage: e.stage,
    stageStatus: e.stageStatus,
    eventDateTime: graphDateTime(e.at),
    changedBy: e.changedBy,
  }));
}

export const REQUEST_PROPERTIES = [
  'id',
  'displayName',
  'description',
  'type',
  'dataSubjectType',
  'dataSubject',
  'regulations',
  'status',
  'internalDueDateTime',
  'createdBy',
  'createdDateTime',
  'lastModifiedBy',
  'lastModifiedDateTime',
  'closedDateTime',
  'externalId',
  'history',
  'stages',
  'insight',
  'includeAllVersions',
  'includeAuthoredContent',
  'pauseAfterEstimate',
  'contentQuery',
] as const;

export function toGraphRequest(v: RequestView): Record<string, unknown> {
  const reviewing = stagesOf(v)[1]!.status === 'current';
  const included = v.item_count - v.excluded_count;
  return {
    id: v.id,
    displayName: v.display_name,
    description: v.description,
    type: v.type,
    dataSubjectType: v.data_subject_type,
    dataSubject: v.data_subject,
    regulations: v.regulations,
    status: v.status,
    internalDueDateTime: graphDateTime(v.internal_due_at),
    createdBy: v.created_by,
    createdDateTime: graphDateTime(v.created_at),
    lastModifiedBy: v.last_modified_by,
    lastModifiedDateTime: graphDateTime(v.last_modified_at),
    closedDateTime: graphDateTime(v.closed_at),
    externalId: v.external_id,
    history: historyOf(v),
    stages: stagesOf(v),
    insight: {
      itemCount: v.item_count,
      totalItemSize: v.total_size,
      itemNeedReview: reviewing ? included : 0,
      signedOffItemCount: reviewCompleted(v) ? included : 0,
      excludedItemCount: v.excluded_count,
      productItemCounts: [],
      insightCounts: [],
    },
    includeAllVersions: v.include_all_versions,
    includeAuthoredContent: v.include_authored_content,
    pauseAfterEstimate: v.pause_after_estimate,
    contentQuery: v.content_query,
  };
}

export interface NoteRow {
  id: string;
  author: IdentitySet;
  content: string;
  content_type: 'text' | 'html';
  created_at: Date;
}

/** Graph's authoredNote: the author is an identity (the user or the application of the identitySet). */
export function toGraphNote(row: NoteRow): Record<string, unknown> {
  const author = row.author.user ?? row.author.application ?? null;
  return {
    id: row.id,
    author,
    content: { content: row.content, contentType: row.content_type },
    createdDateTime: graphDateTime(row.created_at),
  };
}
