import type { Queryable } from '../pool.ts';

/** The secret stored under `name`; `candidate` becomes it when there is none yet (first process wins). */
export async function ensureServiceKey(q: Queryable, name: string, candidate: Buffer): Promise<Buffer> {
  const { rows } = await q.query<{ secret: Buffer }>(
    `with added as (insert into service_keys (name, secret) values ($1, $2) on conflict (name) do nothing returning secret)
     select secret from added union all select secret from service_keys where name = $1 limit 1`,
    [name, candidate],
  );
  return rows[0]!.secret;
}
