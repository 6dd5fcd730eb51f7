import type { Queryable } from '../pool.ts';

export interface ConsoleSignInLinkRow {
  tenant_id: string;
  user_id: string;
  admin: boolean;
}

export async function insertConsoleSignInLink(
  q: Queryable,
  link: { nonceHash: Buffer; tenantId: string; userId: string; admin: boolean; now: Date; expiresAt: Date },
): Promise<void> {
  await q.query('insert into console_sign_in_links (nonce_hash, tenant_id, user_id, admin, created_at, expires_at) values ($1, $2, $3, $4, $5, $6)', [
    link.nonceHash,
    link.tenantId,
    link.userId,
    link.admin,
    link.now,
    link.expiresAt,
  ]);
}

/** Spends a link: only the first call for an unexpired, unused nonce returns its row. */
export async function useConsoleSignInLink(q: Queryable, nonceHash: Buffer, now: Date): Promise<ConsoleSignInLinkRow | undefined> {
  const { rows } = await q.query<ConsoleSignInLinkRow>(
    `update console_sign_in_links set used_at = $2
     where nonce_hash = $1 and used_at is null and expires_at > $2
     returning tenant_id, user_id, admin`,
    [nonceHash, now],
  );
  return rows[0];
}

export async function deleteStaleConsoleSignInLinks(q: Queryable, now: Date): Promise<void> {
  await q.query('delete from console_sign_in_links where expires_at <= $1', [now]);
}

/** Active users with this UPN in any tenant (the CLI's `console-link --user` without --tenant). */
export async function findUsersByUpnInAnyTenant(q: Queryable, upn: string): Promise<{ tenant_id: string; id: string; user_principal_name: string }[]> {
  const { rows } = await q.query<{ tenant_id: string; id: string; user_principal_name: string }>(
    'select tenant_id, id, user_principal_name from users where lower(user_principal_name) = lower($1) and deleted_at is null limit 2',
    [upn],
  );
  return rows;
}
