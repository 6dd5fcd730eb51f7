import type { Queryable } from '../../db/pool.ts';
import { findPrivacyStatement } from '../../db/queries/privacy-statements.ts';
import type { DirectoryAuditRow } from '../../domain/directory-audit.ts';

/** Why the package leaves some values out: other people's data (GDPR Art. 15(4)). */
export const REDACTION_REASON =
  'GDPR Art. 15(4): the right to a copy must not adversely affect the rights and freedoms of others. ' +
  'The IP address and user agent of every person other than the data subject are left out (null) of drive activity and audit records.';

/** The tenant's choice (its privacy statement's redactOtherActors), true by default. */
export async function redactsOtherActors(q: Queryable, tenantId: string): Promise<boolean> {
  const row = await findPrivacyStatement(q, tenantId);
  return row?.statement.redactOtherActors !== false;
}

/** The acting user's id, lower-cased (the subject's id is compared case aside). */
export function actorUserId(actor: unknown): string | undefined {
  const user = (actor as { user?: { id?: unknown } | null } | null)?.user;
  return typeof user?.id === 'string' ? user.id.toLowerCase() : undefined;
}

/** An audit initiated by another user keeps who it was, not from where. */
export function redactAudit(a: DirectoryAuditRow, subjectId: string): DirectoryAuditRow {
  const user = (a.initiated_by as { user?: Record<string, unknown> | null }).user;
  if (!user || actorUserId(a.initiated_by) === subjectId.toLowerCase() || user.ipAddress === null || user.ipAddress === undefined) return a;
  return { ...a, initiated_by: { ...a.initiated_by, user: { ...user, ipAddress: null } } };
}

/** The rows as the package shows them, other actors redacted. */
export async function* redacted<R>(subjectId: string, rows: AsyncIterable<R>, redact: (row: R, subjectId: string) => R): AsyncGenerator<R> {
  for await (const row of rows) yield redact(row, subjectId);
}
