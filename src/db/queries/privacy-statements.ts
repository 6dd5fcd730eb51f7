import type { IdentitySet } from '../../cases/subject-rights-request.ts';
import type { PrivacyStatement } from '../../cases/privacy-statement.ts';
import type { Queryable } from '../pool.ts';

export interface PrivacyStatementRow {
  statement: PrivacyStatement;
  updated_by: IdentitySet;
  updated_at: Date;
}

export async function findPrivacyStatement(q: Queryable, tenantId: string): Promise<PrivacyStatementRow | undefined> {
  const { rows } = await q.query<PrivacyStatementRow>('select statement, updated_by, updated_at from privacy_statements where tenant_id = $1', [tenantId]);
  return rows[0];
}

export async function upsertPrivacyStatement(
  q: Queryable,
  tenantId: string,
  statement: PrivacyStatement,
  by: IdentitySet,
  now: Date,
): Promise<PrivacyStatementRow> {
  const { rows } = await q.query<PrivacyStatementRow>(
    `insert into privacy_statements (tenant_id, statement, updated_by, updated_at) values ($1, $2, $3, $4)
     on conflict (tenant_id) do update set statement = excluded.statement, updated_by = excluded.updated_by, updated_at = excluded.updated_at
     returning statement, updated_by, updated_at`,
    [tenantId, statement, by, now],
  );
  return rows[0]!;
}

/** Drive activity on the subject's drive by someone else that carries an IP address or user agent (Art. 15(4)). */
export async function countOthersActivityDetails(q: Queryable, tenantId: string, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select count(*)::int as n from drive_activities
     where tenant_id = $1 and user_id = $2
       and lower(coalesce(actor -> 'user' ->> 'id', '')) <> lower($2::text)
       and (client_ip is not null or user_agent is not null)`,
    [tenantId, userId],
  );
  return rows[0]!.n;
}

/** Audit records about or by the subject initiated by another user whose IP address is recorded. */
export async function countOthersAuditAddresses(q: Queryable, tenantId: string, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select count(*)::int as n from directory_audits
     where tenant_id = $1
       and (target_user_id = $2 or initiator_user_id = $2 or target_resources @> jsonb_build_array(jsonb_build_object('id', $2::text)))
       and jsonb_typeof(initiated_by -> 'user') = 'object'
       and lower(coalesce(initiated_by -> 'user' ->> 'id', '')) <> lower($2::text)
       and initiated_by -> 'user' ->> 'ipAddress' is not null`,
    [tenantId, userId],
  );
  return rows[0]!.n;
}
