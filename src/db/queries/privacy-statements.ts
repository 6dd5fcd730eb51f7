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

export async function upsertPrivacyStatement(q: Queryable, tenantId: string, statement: PrivacyStatement, by: IdentitySet, now: Date): Promise<PrivacyStatementRow> {
  const { rows } = await q.query<PrivacyStatementRow>(
    `insert into privacy_statements (tenant_id, statement, updated_by, updated_at) values ($1, $2, $3, $4)
     on conflict (tenant_id) do update set statement = excluded.statement, updated_by = excluded.updated_by, updated_at = excluded.updated_at
     returning statement, updated_by, updated_at`,
    [tenantId, statement, by, now],
  );
  return rows[0]!;
}
