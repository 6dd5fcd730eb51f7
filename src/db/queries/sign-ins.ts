import type { NewSignIn, SignInRow } from '../../domain/sign-in.ts';
import type { DateBounds } from '../../http/odata.ts';
import type { Queryable } from '../pool.ts';

/** A listing row: `cursor_at` is created_at as PostgreSQL text, exact to the microsecond for the keyset. */
export type SignInListRow = SignInRow & { cursor_at: string };

/**
 * Inserts many sign-ins in one statement; ids already stored for the tenant are left alone
 * (re-importing a file is harmless). Returns the ids actually inserted.
 */
export async function insertSignIns(q: Queryable, tenantId: string, rows: readonly NewSignIn[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const { rows: inserted } = await q.query<{ id: string }>(
    `insert into sign_ins (tenant_id, id, user_id, created_at, data)
     select $1, r.id, r.user_id, r.created_at, r.data
     from jsonb_to_recordset($2::jsonb) as r (id uuid, user_id uuid, created_at timestamptz, data jsonb)
     on conflict (tenant_id, id) do nothing
     returning id`,
    [tenantId, JSON.stringify(rows.map((r) => ({ id: r.id, user_id: r.userId, created_at: r.createdAt.toISOString(), data: r.data })))],
  );
  return inserted.map((r) => r.id);
}

/** The filters and order of a sign-in listing. */
export interface SignInQuery {
  limit: number;
  userId?: string;
  userPrincipalName?: string;
  userPrincipalNamePrefix?: string;
  appDisplayName?: string;
  appDisplayNamePrefix?: string;
  created?: DateBounds;
  order?: 'asc' | 'desc';
  after?: { at: string; id: string };
}

/**
 * One page of the tenant's sign-ins, newest first unless `order` is asc; `after` is the
 * (created_at, id) of the last row of the previous page. `userPrincipalName` matches the UPN
 * recorded at sign-in time, case-insensitively, like the name prefixes.
 */
export async function listSignIns(q: Queryable, tenantId: string, opts: SignInQuery): Promise<SignInListRow[]> {
  const desc = (opts.order ?? 'desc') === 'desc';
  const c = opts.created ?? {};
  const { rows } = await q.query<SignInListRow>(
    `select *, created_at::text as cursor_at from sign_ins
     where tenant_id = $1
       and ($2::uuid is null or user_id = $2)
       and ($3::text is null or lower(data ->> 'userPrincipalName') = lower($3))
       and ($4::timestamptz is null or (created_at, id) ${desc ? '<' : '>'} ($4, $5::uuid))
       and ($7::text is null or lower(data ->> 'userPrincipalName') like lower($7) || '%' escape '\\')
       and ($8::text is null or lower(data ->> 'appDisplayName') = lower($8))
       and ($9::text is null or lower(data ->> 'appDisplayName') like lower($9) || '%' escape '\\')
       and ($10::timestamptz is null or created_at >= $10) and ($11::timestamptz is null or created_at > $11)
       and ($12::timestamptz is null or created_at <= $12) and ($13::timestamptz is null or created_at < $13)
     order by created_at ${desc ? 'desc' : 'asc'}, id ${desc ? 'desc' : 'asc'}
     limit $6`,
    [
      tenantId,
      opts.userId ?? null,
      opts.userPrincipalName ?? null,
      opts.after?.at ?? null,
      opts.after?.id ?? null,
      opts.limit,
      likePrefix(opts.userPrincipalNamePrefix),
      opts.appDisplayName ?? null,
      likePrefix(opts.appDisplayNamePrefix),
      c.ge ?? null,
      c.gt ?? null,
      c.le ?? null,
      c.lt ?? null,
    ],
  );
  return rows;
}

/** A LIKE prefix with its wildcards taken literally. */
function likePrefix(prefix: string | undefined): string | null {
  return prefix === undefined ? null : prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/**
 * The tenant's users among these object ids and (lowercased) UPNs: the user check of a sign-in
 * import, one statement per batch of lines.
 */
export async function findSignInUsers(
  q: Queryable,
  tenantId: string,
  ids: readonly string[],
  upnsLower: readonly string[],
): Promise<{ id: string; upn_lower: string }[]> {
  const { rows } = await q.query<{ id: string; upn_lower: string }>(
    `select id, lower(user_principal_name) as upn_lower from users
     where tenant_id = $1 and (id = any($2::uuid[]) or lower(user_principal_name) = any($3::text[]))`,
    [tenantId, ids, upnsLower],
  );
  return rows;
}
