import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/pool.ts';
import { ensureServiceKey } from '../db/queries/service-keys.ts';

/**
 * A grant carried in a URL, which is then its own credential (no Authorization header, as a
 * OneDrive download URL): `{payload}.{mac}`, the payload base64url JSON with an `expires` in
 * seconds, the mac its HMAC-SHA256. Each kind of grant has its own key, so a grant of one kind
 * never verifies as another.
 */
export interface Expiring {
  expires: number;
}

const MAX_TOKEN_LENGTH = 4096;
const keys = new WeakMap<Db, Map<string, Promise<Buffer>>>();

/** The deployment's key `name`: made by the first process that needs it, shared through the database. */
export function grantKey(db: Db, name: string): Promise<Buffer> {
  let byName = keys.get(db);
  if (!byName) {
    byName = new Map();
    keys.set(db, byName);
  }
  let key = byName.get(name);
  if (!key) {
    key = ensureServiceKey(db, name, randomBytes(32));
    key.catch(() => byName.delete(name));
    byName.set(name, key);
  }
  return key;
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export function signGrant(key: Buffer, grant: Expiring): string {
  const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The grant, or undefined when the token is malformed, forged or expired. */
export function verifyGrant<T extends Expiring>(key: Buffer, token: string, now: Date): T | undefined {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined || token.length > MAX_TOKEN_LENGTH) return undefined;
  const expected = mac(key, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
  if (typeof grant.expires !== 'number' || grant.expires * 1000 <= now.getTime()) return undefined;
  return grant;
}
