import { exportRequestsOfUser } from '../../db/queries/worker-sources.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { graphDateTime } from '../../domain/formats.ts';
import type { OperationRow } from '../../domain/operation.ts';
import { odataContext, recordSection, subjectRows } from './records.ts';

/**
 * Directory/ExportRequests.json: every export of the subject's data, this one included (as it
 * stood at the snapshot), in Graph's dataPolicyOperation shape. The storage location is the
 * container URL without its query: no SAS signature, whatever state the request is in.
 */
export const exportRequestsSection = recordSection<OperationRow>({
  name: 'ExportRequests',
  tables: ['data_policy_operations'],
  totalKey: 'exportRequests',
  title: 'Export requests for this user',
  rows: subjectRows(exportRequestsOfUser),
  json: {
    path: PACKAGE_PATHS.exportRequests,
    context: odataContext('dataPolicyOperations'),
    toJson: (op) => ({
      id: op.id,
      status: op.status,
      userId: op.user_id,
      storageLocation: op.storage_container,
      submittedDateTime: graphDateTime(op.submitted_at),
      completedDateTime: graphDateTime(op.completed_at),
      requestedBy: { kind: op.requested_by.kind, appId: op.requested_by.appId, id: op.requested_by.oid, userPrincipalName: op.requested_by.upn ?? null },
      ...(op.status === 'failed' ? { error: { code: op.error_code ?? 'InternalServerError', message: op.error_message ?? '' } } : {}),
    }),
  },
  preview: {
    columns: ['Submitted', 'Status', 'Completed'],
    cells: (o) => [o.submittedDateTime, o.status, o.completedDateTime],
  },
});
