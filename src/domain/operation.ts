import { graphDateTime } from './formats.ts';
import { redactSasSignatures } from './storage-location.ts';

export type OperationStatus = 'notStarted' | 'running' | 'complete' | 'failed';
export const OPERATION_STATUSES: readonly OperationStatus[] = ['notStarted', 'running', 'complete', 'failed'];
/** Graph's dataPolicyOperationStatus enum: the stored statuses and the evolvable-enum sentinel (never stored). */
export const GRAPH_OPERATION_STATUSES: readonly string[] = [...OPERATION_STATUSES, 'unknownFutureValue'];

/** Who asked for an export, as recorded on the operation, in RequestInfo.json and in audits. */
export interface Requester {
  kind: 'application' | 'delegated';
  appId: string;
  oid: string;
  upn?: string | undefined;
}

export interface OperationRow {
  id: string;
  tenant_id: string;
  user_id: string;
  user_principal_name: string;
  /** The SAS URL with its signature redacted; the query layer puts the full URL here for the worker. */
  storage_location: string;
  /** The full SAS URL sealed (src/secrets) while the export is queued or running, then null. */
  storage_location_sealed: string | null;
  storage_container: string;
  status: OperationStatus;
  progress: number;
  submitted_at: Date;
  completed_at: Date | null;
  requested_by: Requester;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  next_attempt_at: Date;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: Date | null;
  bytes_planned: number | null;
  bytes_written: number;
  request_info_written: boolean;
}

/** The columns a dataPolicyOperation's JSON is made of: what the API reads to answer with one. */
export type OperationView = Pick<
  OperationRow,
  'id' | 'status' | 'progress' | 'user_id' | 'storage_location' | 'submitted_at' | 'completed_at' | 'error_code' | 'error_message'
>;

export const OPERATION_PROPERTIES = ['id', 'status', 'progress', 'userId', 'storageLocation', 'submittedDateTime', 'completedDateTime', 'error'] as const;

/** The Graph dataPolicyOperation JSON (docs/architecture.md#the-operation-resource); `sig` is always redacted. */
export function toGraphOperation(row: OperationView): Record<string, unknown> {
  // 100 is reserved for `complete`, whatever the byte count says.
  const progress = row.status === 'complete' ? 100 : Math.min(Math.max(row.progress, 0), 99.9);
  return {
    id: row.id,
    status: row.status,
    progress: Math.round(progress * 10) / 10,
    userId: row.user_id,
    storageLocation: redactSasSignatures(row.storage_location),
    submittedDateTime: graphDateTime(row.submitted_at),
    completedDateTime: graphDateTime(row.completed_at),
    ...(row.status === 'failed' ? { error: { code: row.error_code ?? 'InternalServerError', message: row.error_message ?? '' } } : {}),
  };
}
