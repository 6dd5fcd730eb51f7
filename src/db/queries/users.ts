import type { Queryable } from '../pool.ts';
import type { UserChanges, UserRow } from '../../domain/user.ts';
import { GUID_PATTERN } from '../../domain/formats.ts';

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

/** An active user by object id or, when the key is not a GUID, by userPrincipalName (case-insensitive). */
export async function findUser(q: Queryable, tenantId: string, idOrUpn: string): Promise<UserRow | undefined> {
  const byId = GUID_PATTERN.test(idOrUpn);
  // Named (prepared once per connection): every export POST and drive request looks its user up.
  const { rows } = await q.query<UserRow>(
    byId
      ? { name: 'find-user-by-id', text: 'select * from users where tenant_id = $1 and id = $2 and deleted_at is null', values: [tenantId, idOrUpn] }
      : {
          name: 'find-user-by-upn',
          text: 'select * from users where tenant_id = $1 and lower(user_principal_name) = lower($2) and deleted_at is null',
          values: [tenantId, idOrUpn],
        },
  );
  return rows[0];
}

/** Like findUser, but also a user soft-deleted after `deletedSince` (still in deletedItems): exports reach them. */
export async function findUserOrDeleted(q: Queryable, tenantId: string, idOrUpn: string, deletedSince: Date): Promise<UserRow | undefined> {
  const key = GUID_PATTERN.test(idOrUpn) ? 'id = $2' : 'lower(user_principal_name) = lower($2)';
  const { rows } = await q.query<UserRow>(`select * from users where tenant_id = $1 and ${key} and (deleted_at is null or deleted_at > $3)`, [
    tenantId,
    idOrUpn,
    deletedSince,
  ]);
  return rows[0];
}

export type UserMatchColumn = 'user_principal_name' | 'display_name' | 'mail' | 'given_name' | 'surname';

export interface UserListFilter {
  /** userPrincipalName, case-insensitive. */
  upn?: string;
  /** Case-insensitive prefixes of these columns; all must match, or with `anyPrefix` any one. */
  prefixes?: { column: UserMatchColumn; prefix: string }[];
  anyPrefix?: boolean;
  /** Text that must start a word of these columns (words split at anything not a letter or digit); all, or with `anyWord` any one. */
  words?: { column: UserMatchColumn; word: string }[];
  anyWord?: boolean;
}

/** One page ordered by id; `after` is the last id of the previous page. */
export async function listUsers(q: Queryable, tenantId: string, opts: { limit: number; after?: string } & UserListFilter): Promise<UserRow[]> {
  const values: unknown[] = [tenantId, opts.after ?? null, opts.upn ?? null, opts.limit];
  // Column names come from a fixed union; only the prefixes are parameters (starts_with needs no LIKE escaping).
  const prefixes = (opts.prefixes ?? []).map((p) => {
    values.push(p.prefix);
    return `starts_with(lower(coalesce(${p.column}, '')), lower($${values.length}))`;
  });
  // Both sides are reduced to words between single spaces, so a word start is " " + the words searched.
  const words = (opts.words ?? []).map((w) => {
    values.push(w.word);
    return `strpos(' ' || regexp_replace(lower(coalesce(${w.column}, '')), '[^[:alnum:]]+', ' ', 'g'),
      ' ' || trim(regexp_replace(lower($${values.length}), '[^[:alnum:]]+', ' ', 'g'))) > 0`;
  });
  const match =
    (prefixes.length > 0 ? ` and (${prefixes.join(opts.anyPrefix ? ' or ' : ' and ')})` : '') +
    (words.length > 0 ? ` and (${words.join(opts.anyWord ? ' or ' : ' and ')})` : '');
  const { rows } = await q.query<UserRow>(
    `select * from users
     where tenant_id = $1 and deleted_at is null
       and ($2::uuid is null or id > $2) and ($3::text is null or lower(user_principal_name) = lower($3))${match}
     order by id limit $4`,
    values,
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

/** Moves an active user to deletedItems; false when there is none. */
export async function softDeleteUser(q: Queryable, tenantId: string, id: string, now: Date): Promise<boolean> {
  const { rowCount } = await q.query('update users set deleted_at = $3 where tenant_id = $1 and id = $2 and deleted_at is null', [tenantId, id, now]);
  return rowCount === 1;
}

/** One page of the soft-deleted users still kept (deleted after `deletedSince`), by id. */
export async function listDeletedUsers(
  q: Queryable,
  tenantId: string,
  deletedSince: Date,
  opts: { limit: number; after?: string | undefined },
): Promise<UserRow[]> {
  const { rows } = await q.query<UserRow>(
    `select * from users where tenant_id = $1 and deleted_at > $2 and ($3::uuid is null or id > $3) order by id limit $4`,
    [tenantId, deletedSince, opts.after ?? null, opts.limit],
  );
  return rows;
}

export async function findDeletedUser(q: Queryable, tenantId: string, id: string, deletedSince: Date): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>('select * from users where tenant_id = $1 and id = $2 and deleted_at > $3', [tenantId, id, deletedSince]);
  return rows[0];
}

/** Brings a soft-deleted user back; undefined when it is not (or no longer) in deletedItems. */
export async function restoreUser(q: Queryable, tenantId: string, id: string, deletedSince: Date): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>('update users set deleted_at = null where tenant_id = $1 and id = $2 and deleted_at > $3 returning *', [
    tenantId,
    id,
    deletedSince,
  ]);
  return rows[0];
}

/** Permanent delete of a soft-deleted user: the drive, activity and sign-ins go with the row (foreign keys cascade). */
export async function purgeDeletedUser(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('delete from users where tenant_id = $1 and id = $2 and deleted_at is not null', [tenantId, id]);
  return rowCount === 1;
}

/** Purges up to `limit` users soft-deleted before `deletedBefore` (any tenant); returns how many. */
export async function purgeExpiredDeletedUsers(q: Queryable, deletedBefore: Date, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    `delete from users where (tenant_id, id) in (
       select tenant_id, id from users where deleted_at <= $1 order by deleted_at limit $2 for update skip locked
     )`,
    [deletedBefore, limit],
  );
  return rowCount ?? 0;
}
