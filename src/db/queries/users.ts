import type { Queryable } from '../pool.ts';
import type { UserChanges, UserRow } from '../../domain/user.ts';
import { GUID_PATTERN } from '../../http/odata.ts';

export async function insertUser(q: Queryable, tenantId: string, id: string, changes: UserChanges, now: Date): Promise<UserRow> {
  const columns = Object.keys(changes);
  const values = Object.values(changes);
  const { rows } = await q.query<UserRow>(
    `insert into users (tenant_id, id, created_at, ${columns.join(', ')})
     values ($1, $2, $3, ${columns.map((_, i) => `$${i + 4}`).join(', ')}) returning *`,
    [tenantId, id, now, ...values],
  );
  return rows[0]!;
}

/** By object id or, when the key is not a GUID, by userPrincipalName (case-insensitive). */
export async function findUser(q: Queryable, tenantId: string, idOrUpn: string): Promise<UserRow | undefined> {
  const byId = GUID_PATTERN.test(idOrUpn);
  // Named (prepared once per connection): every export POST and drive request looks its user up.
  const { rows } = await q.query<UserRow>(byId
    ? { name: 'find-user-by-id', text: 'select * from users where tenant_id = $1 and id = $2', values: [tenantId, idOrUpn] }
    : { name: 'find-user-by-upn', text: 'select * from users where tenant_id = $1 and lower(user_principal_name) = lower($2)', values: [tenantId, idOrUpn] });
  return rows[0];
}

/** One page ordered by id; `after` is the last id of the previous page. */
export async function listUsers(
  q: Queryable, tenantId: string, opts: { limit: number; after?: string; upn?: string },
): Promise<UserRow[]> {
  const { rows } = await q.query<UserRow>(
    `select * from users
     where tenant_id = $1 and ($2::uuid is null or id > $2) and ($3::text is null or lower(user_principal_name) = lower($3))
     order by id limit $4`,
    [tenantId, opts.after ?? null, opts.upn ?? null, opts.limit],
  );
  return rows;
}

export async function updateUser(q: Queryable, tenantId: string, id: string, changes: UserChanges): Promise<UserRow | undefined> {
  const columns = Object.keys(changes);
  const { rows } = await q.query<UserRow>(
    `update users set ${columns.map((c, i) => `${c} = $${i + 3}`).join(', ')}
     where tenant_id = $1 and id = $2 returning *`,
    [tenantId, id, ...Object.values(changes)],
  );
  return rows[0];
}

export async function deleteUser(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('delete from users where tenant_id = $1 and id = $2', [tenantId, id]);
  return rowCount === 1;
}
