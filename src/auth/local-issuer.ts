import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { readOrCreateKeyFile } from '../runtime/key-file.ts';
import { GLOBAL_ADMIN_ROLE, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../config.ts';

export interface LocalIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** The public half, served at /.well-known/jwks.json. */
  readonly jwks: { keys: JWK[] };
  sign(claims: Record<string, unknown>, expiresInSeconds: number): Promise<string>;
}

const ALG = 'RS256';

/**
 * Loads the local issuer's key pair from `dataDir/keys/local-issuer.json`, creating it on first
 * use (two processes starting together agree on one key).
 */
export async function loadLocalIssuer(dataDir: string): Promise<LocalIssuer> {
  const privateJwk = JSON.parse(
    await readOrCreateKeyFile(path.join(dataDir, 'keys', 'local-issuer.json'), async () => {
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      return JSON.stringify({ ...(await exportJWK(privateKey)), kid: randomUUID(), alg: ALG, use: 'sig' });
    }),
  ) as JWK;
  const publicJwk: JWK = { kty: privateJwk.kty, n: privateJwk.n, e: privateJwk.e, kid: privateJwk.kid, alg: ALG, use: 'sig' };
  const key = await importJWK(privateJwk, ALG);
  return {
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    jwks: { keys: [publicJwk] },
    sign: (claims, expiresInSeconds) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, kid: privateJwk.kid!, typ: 'JWT' })
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime(`${expiresInSeconds}s`)
        .sign(key),
  };
}

export interface TokenRequest {
  tenant: string;
  /** Application token: the app id and its application permissions (roles). */
  app?: { id: string; roles: string[] };
  /** Delegated token: the signed-in user's object id, its scopes, and whether it is a Global Administrator. */
  user?: { id: string; upn?: string; scopes: string[]; admin: boolean };
  expiresInSeconds?: number;
  /** The client app of a delegated token. */
  clientAppId?: string;
}

/** Claims shaped as Entra ID v2 access tokens carry them. */
export function tokenClaims(req: TokenRequest): Record<string, unknown> {
  if (req.app) {
    return { tid: req.tenant, oid: req.app.id, sub: req.app.id, azp: req.app.id, appid: req.app.id, idtyp: 'app', roles: req.app.roles };
  }
  if (req.user) {
    const client = req.clientAppId ?? '00000000-0000-0000-0000-00000000d5e7';
    return {
      tid: req.tenant,
      oid: req.user.id,
      sub: req.user.id,
      azp: client,
      appid: client,
      idtyp: 'user',
      scp: req.user.scopes.join(' '),
      wids: req.user.admin ? [GLOBAL_ADMIN_ROLE] : [],
      ...(req.user.upn ? { upn: req.user.upn, preferred_username: req.user.upn } : {}),
    };
  }
  throw new Error('a token needs either an app or a user');
}
