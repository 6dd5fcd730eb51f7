import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { readOrCreateKeyFile } from '../runtime/key-file.ts';
import type { Config } from '../config.ts';

/**
 * Secrets the service must keep between a request and the worker (the SAS of a queued export) are
 * sealed with AES-256-GCM under a key kept outside the database, so that a database dump or backup
 * holds no live credential.
 *
 * Sealed text: `dsr1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts). The key id names the key
 * (a hash of it), so that after a rotation text sealed under an older key still opens while that
 * key is listed. The associated data binds a sealed value to its row: moved to another row, it
 * does not open.
 */
export interface SecretKeys {
  /** Key id of the key that seals. */
  readonly sealingKeyId: string;
  seal(plain: string, boundTo: string): string;
  /** Throws SecretKeyError when no listed key opens it. */
  open(sealed: string, boundTo: string): string;
}

export class SecretKeyError extends Error {}

const VERSION = 'dsr1';
const KEY_BYTES = 32;
const IV_BYTES = 12;

function keyId(key: Buffer): string {
  return createHash('sha256').update('dsr-export secret key id\0').update(key).digest('base64url').slice(0, 12);
}

/** Parses keys written as base64 or base64url, one per entry; the first one seals. */
export function parseSecretKeys(entries: readonly string[], source: string): Buffer[] {
  const keys = entries.map((entry) => {
    const key = Buffer.from(entry.trim(), 'base64');
    if (key.length !== KEY_BYTES)
      throw new SecretKeyError(`${source}: every key must be ${KEY_BYTES} bytes, base64-encoded (e.g. \`openssl rand -base64 32\`)`);
    return key;
  });
  if (keys.length === 0) throw new SecretKeyError(`${source}: no key`);
  return keys;
}

export function createSecretKeys(keys: readonly Buffer[]): SecretKeys {
  const byId = new Map(keys.map((k) => [keyId(k), k]));
  const sealing = keys[0];
  if (!sealing) throw new SecretKeyError('no secret key');
  const sealingKeyId = keyId(sealing);
  return {
    sealingKeyId,
    seal(plain, boundTo) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealing, iv);
      cipher.setAAD(Buffer.from(boundTo, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [VERSION, sealingKeyId, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, boundTo) {
      const [version, id, iv, body, tag, ...rest] = sealed.split('.');
      if (version !== VERSION || !id || iv === undefined || body === undefined || tag === undefined || rest.length > 0) {
        throw new SecretKeyError('not a sealed secret');
      }
      const key = byId.get(id);
      if (!key) throw new SecretKeyError(`sealed under key ${id}, which is not configured (DSR_SECRET_KEY or the data folder's keys/secret-key)`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(boundTo, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretKeyError(`sealed secret does not open under key ${id}: altered, or bound to another row`);
      }
    },
  };
}

/**
 * The keys of this deployment: DSR_SECRET_KEY when set (every API and worker process of a scaled
 * deployment must share it), otherwise `dataDir/keys/secret-key`, created on first use (one
 * base64 key per line, the first seals; two processes starting together agree on one key).
 */
export async function loadSecretKeys(config: Pick<Config, 'dataDir' | 'secretKeys'>): Promise<SecretKeys> {
  if (config.secretKeys.length > 0) return createSecretKeys(parseSecretKeys(config.secretKeys, 'DSR_SECRET_KEY'));
  const file = path.join(config.dataDir, 'keys', 'secret-key');
  const text = await readOrCreateKeyFile(file, () => `${randomBytes(KEY_BYTES).toString('base64')}\n`);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return createSecretKeys(parseSecretKeys(lines, file));
}

let installed: SecretKeys | undefined;

/**
 * The process's keys, installed at start-up by the entry point (serve, worker). Process-wide so
 * that the query layer seals and opens without every caller carrying a key. A second install
 * (two servers in one process) seals with its own key and still opens what the first sealed.
 */
export function installSecretKeys(keys: SecretKeys): void {
  const previous = installed;
  installed =
    !previous || previous === keys
      ? keys
      : {
          sealingKeyId: keys.sealingKeyId,
          seal: (plain, boundTo) => keys.seal(plain, boundTo),
          open: (sealed, boundTo) => {
            try {
              return keys.open(sealed, boundTo);
            } catch (err) {
              if (sealed.split('.')[1] === keys.sealingKeyId) throw err;
              return previous.open(sealed, boundTo);
            }
          },
        };
}

export function secretKeys(): SecretKeys {
  if (!installed) throw new Error('secret keys are not loaded: the entry point must call installSecretKeys first');
  return installed;
}
