import { randomUUID } from 'node:crypto';
import { graphDateTime, GUID_PATTERN } from './formats.ts';
import type { Requester } from './operation.ts';

export interface DirectoryAudit {
  id: string;
  tenantId: string;
  activityAt: Date;
  category: string;
  activityDisplayName: string;
  operationType: 'Add' | 'Update' | 'Delete' | 'Other';
  result: 'success' | 'failure';
  resultReason: string;
  correlationId: string | null;
  initiatedBy: Record<string, unknown>;
  targetResources: Record<string, unknown>[];
  initiatorUserId: string | null;
  targetUserId: string | null;
  additionalDetails: { key: string; value: string }[];
}

export interface AuditTargetUser {
  id: string;
  userPrincipalName: string;
  displayName?: string | null;
}

/** Graph's auditActivityInitiator: exactly one of app and user is set. */
export function initiatorOf(requester: Requester, ipAddress: string | null): Record<string, unknown> {
  return requester.kind === 'application'
    ? { app: { appId: requester.appId, displayName: null, servicePrincipalId: requester.oid, servicePrincipalName: null }, user: null }
    : { app: null, user: { id: requester.oid, displayName: null, userPrincipalName: requester.upn ?? null, ipAddress } };
}

export function auditRecord(input: {
  tenantId: string;
  now: Date;
  activity: string;
  operationType: DirectoryAudit['operationType'];
  requester: Requester;
  ipAddress: string | null;
  target: AuditTargetUser;
  correlationId?: string;
  result?: DirectoryAudit['result'];
  resultReason?: string;
  modifiedProperties?: string[];
  details?: Record<string, string>;
}): DirectoryAudit {
  return {
    id: randomUUID(),
    tenantId: input.tenantId,
    activityAt: input.now,
    category: 'UserManagement',
    activityDisplayName: input.activity,
    operationType: input.operationType,
    result: input.result ?? 'success',
    resultReason: input.resultReason ?? '',
    correlationId: input.correlationId ?? null,
    initiatedBy: initiatorOf(input.requester, input.ipAddress),
    targetResources: [
      {
        id: input.target.id,
        displayName: input.target.displayName ?? null,
        type: 'User',
        userPrincipalName: input.target.userPrincipalName,
        groupType: null,
        modifiedProperties: (input.modifiedProperties ?? []).map((displayName) => ({ displayName, oldValue: null, newValue: null })),
      },
    ],
    // The column is a uuid: a delegated caller of an external issuer whose oid/sub is not a GUID
    // (e.g. "auth0|123") stays identified in initiatedBy but is not indexed as a directory user.
    initiatorUserId: input.requester.kind === 'delegated' && GUID_PATTERN.test(input.requester.oid) ? input.requester.oid : null,
    targetUserId: input.target.id,
    additionalDetails: Object.entries(input.details ?? {}).map(([key, value]) => ({ key, value })),
  };
}

export interface DirectoryAuditRow {
  id: string;
  tenant_id: string;
  activity_at: Date;
  category: string;
  activity_display_name: string;
  operation_type: string;
  result: string;
  result_reason: string;
  logged_by_service: string;
  correlation_id: string | null;
  initiated_by: Record<string, unknown>;
  target_resources: Record<string, unknown>[];
  additional_details: { key: string; value: string }[];
}

/** Graph's directoryAudit JSON. */
export function toGraphDirectoryAudit(row: DirectoryAuditRow): Record<string, unknown> {
  return {
    id: row.id,
    category: row.category,
    correlationId: row.correlation_id,
    result: row.result,
    resultReason: row.result_reason,
    activityDisplayName: row.activity_display_name,
    activityDateTime: graphDateTime(row.activity_at),
    loggedByService: row.logged_by_service,
    operationType: row.operation_type,
    initiatedBy: row.initiated_by,
    targetResources: row.target_resources,
    additionalDetails: row.additional_details,
  };
}
