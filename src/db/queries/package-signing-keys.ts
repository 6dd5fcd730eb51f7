import type { JWK } from 'jose';
import type { Queryable } from '../pool.ts';

/** Publishes a package-signing public key; registering the same kid again changes nothing. */
export async function insertPackageSigningKey(q: Queryable, kid: string, publicJwk: JWK): Promise<void> {
  await q.query('insert into package_signing_keys (kid, public_jwk) values ($1, $2) on conflict (kid) do nothing', [kid, JSON.stringify(publicJwk)]);
}

/** Every package-signing public key ever registered, oldest first. */
export async function selectPackageSigningKeys(q: Queryable): Promise<JWK[]> {
  const { rows } = await q.query<{ public_jwk: JWK }>('select public_jwk from package_signing_keys order by created_at, kid');
  return rows.map((r) => r.public_jwk);
}
