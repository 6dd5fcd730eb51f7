import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config.ts';
import { GraphError } from '../graph-error.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import { createExternalIssuer } from './external-issuer.ts';
import type { LocalIssuer } from './local-issuer.ts';

/** Who is calling, taken from a verified token. */
export interface Caller {
  readonly tenantId: string;
  /** Object id of the signed-in user (delegated) or of the app's service principal. */
  readonly oid: string;
  readonly kind: 'application' | 'delegated';
  readonly appId: string;
  readonly roles: ReadonlySet<string>;
  readonly scopes: ReadonlySet<string>;
  readonly wids: readonly string[];
  /** A delegated caller whose `wids` name a role of DSR_ADMIN_ROLE_IDS; never an application. */
  readonly directoryAdmin: boolean;
  readonly upn: string | undefined;
}

export interface TokenVerifier {
  /** Resolves the caller, or throws GraphError 401 (bad token) / 403 (personal account). */
  verify(authorization: string | undefined): Promise<Caller>;
}

export const ALLOWED_ALGORITHMS = ['RS256', 'ES256'];
export const PERSONAL_ACCOUNT_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
// Entra tokens are 1–4 KB; anything far beyond is abuse, refused before any crypto work.
const MAX_TOKEN_LENGTH = 16 * 1024;
const CLOCK_SKEW_SECONDS = 60;

function invalid(message: string): GraphError {
  return GraphError.invalidToken(message);
}

// Claims that only tokens issued to a signed-in user carry.
const USER_CLAIMS = ['scp', 'upn', 'preferred_username', 'unique_name'] as const;

/**
 * Application or delegated, from the claims, so that no user token ever passes as an
 * application: `idtyp` decides when present (`app` with any user claim is refused as
 * contradictory); without it (Entra v1 tokens, other issuers) a token with `scp` is delegated, one
 * with no user claim at all is an application, and one naming a user (`upn`,
 * `preferred_username`, `unique_name`) without `scp` is refused: it grants nothing as delegated
 * and must not be read as an application.
 */
export function tokenKind(p: JWTPayload): 'application' | 'delegated' {
  const userClaims = USER_CLAIMS.filter((c) => p[c] !== undefined);
  if (p.idtyp === 'user') return 'delegated';
  if (p.idtyp === 'app') {
    if (userClaims.length > 0) throw invalid(`Access token is contradictory: idtyp "app" with the user claim ${userClaims.join(', ')}.`);
    return 'application';
  }
  if (p.idtyp !== undefined) throw invalid('Access token has an unknown token type (idtyp); expected "app" or "user".');
  if (p.scp !== undefined) return 'delegated';
  if (userClaims.length > 0) {
    throw invalid(`Access token names a user (${userClaims.join(', ')}) but has neither scp nor idtyp; it is neither a delegated nor an application token.`);
  }
  return 'application';
}

function claimsToCaller(p: JWTPayload, adminRoleIds: readonly string[]): Caller {
  const tid = p.tid;
  const oid = p.oid ?? p.sub;
  if (typeof tid !== 'string' || !GUID_PATTERN.test(tid)) throw invalid('Access token has no valid tenant (tid) claim.');
  if (typeof oid !== 'string' || oid === '') throw invalid('Access token has no object id (oid) claim.');
  if (tid.toLowerCase() === PERSONAL_ACCOUNT_TENANT) {
    throw GraphError.forbidden('Personal Microsoft accounts cannot call this API; use a work or school account.');
  }
  const scp = typeof p.scp === 'string' ? p.scp.split(' ').filter(Boolean) : [];
  const roles = Array.isArray(p.roles) ? p.roles.filter((r): r is string => typeof r === 'string') : [];
  const wids = Array.isArray(p.wids) ? p.wids.filter((r): r is string => typeof r === 'string') : [];
  const kind = tokenKind(p);
  const appId = typeof p.azp === 'string' ? p.azp : typeof p.appid === 'string' ? p.appid : '';
  const upn = typeof p.upn === 'string' ? p.upn : typeof p.preferred_username === 'string' ? p.preferred_username : undefined;
  const adminRoles = new Set(adminRoleIds.map((id) => id.toLowerCase()));
  return {
    tenantId: tid.toLowerCase(),
    oid: oid.toLowerCase(),
    kind,
    appId,
    roles: new Set(kind === 'application' ? roles : []),
    scopes: new Set(kind === 'delegated' ? scp : []),
    wids,
    directoryAdmin: kind === 'delegated' && wids.some((w) => adminRoles.has(w.toLowerCase())),
    upn,
  };
}

function describe(err: unknown): GraphError {
  if (err instanceof GraphError) return err;
  if (err instanceof errors.JWTExpired) return invalid('Lifetime validation failed, the token is expired.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return invalid('Lifetime validation failed, the token is not yet valid.');
    if (err.claim === 'aud') return invalid('Invalid audience.');
    if (err.claim === 'iss') return invalid('Invalid issuer.');
    return invalid(`Access token claim "${err.claim}" is invalid.`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalid('Access token signature validation failed.');
  if (err instanceof errors.JOSEAlgNotAllowed) return invalid('Access token algorithm is not supported.');
  if (err instanceof errors.JWKSNoMatchingKey) return invalid('Access token signing key is not trusted (unknown kid).');
  if (err instanceof errors.JOSEError) return invalid('Access token validation failure.');
  return invalid("Access token validation failure: the issuer's signing keys could not be obtained.");
}

/**
 * Tokens already verified, until they expire: clients send the same token for an hour, and a
 * signature check per request is most of an authenticated read's CPU. Only tokens that passed every check are kept, keyed by the
 * whole token text, so a tampered copy is a different key. Bounded; cleared when full.
 */
class VerifiedTokenCache {
  private readonly entries = new Map<string, { caller: Caller; notBeforeMs: number; expiresMs: number }>();

  constructor(private readonly max = 10_000) {}

  get(token: string, nowMs: number): Caller | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    if (nowMs >= e.expiresMs || nowMs < e.notBeforeMs) {
      this.entries.delete(token);
      return undefined;
    }
    return e.caller;
  }

  set(token: string, caller: Caller, payload: JWTPayload, nowMs: number): void {
    if (this.entries.size >= this.max) this.entries.clear();
    const skewMs = CLOCK_SKEW_SECONDS * 1000;
    this.entries.set(token, {
      caller,
      notBeforeMs: typeof payload.nbf === 'number' ? payload.nbf * 1000 - skewMs : 0,
      expiresMs: typeof payload.exp === 'number' ? payload.exp * 1000 + skewMs : nowMs,
    });
  }
}

export function createTokenVerifier(
  config: Config,
  local: LocalIssuer | undefined,
  fetchImpl: typeof fetch = fetch,
  clock: () => Date = () => new Date(),
): TokenVerifier {
  // The caller may hand over a loaded key that the configuration disables: it is not trusted then.
  const trustedLocal = config.auth.localIssuer ? local : undefined;
  const localKeys = trustedLocal ? createLocalJWKSet(trustedLocal.jwks) : undefined;
  const external = createExternalIssuer(config, fetchImpl, CLOCK_SKEW_SECONDS, clock);
  const verified = new VerifiedTokenCache();

  return {
    async verify(authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!m) throw invalid('Access token is empty.');
      const token = m[1]!;
      if (token.length > MAX_TOKEN_LENGTH) throw invalid('Access token is too large.');
      const now = clock();
      const known = verified.get(token, now.getTime());
      if (known) return known;
      try {
        let header: ReturnType<typeof decodeProtectedHeader>;
        let unverified: JWTPayload;
        try {
          header = decodeProtectedHeader(token);
          unverified = decodeJwt(token);
        } catch {
          throw invalid('Access token is malformed: not a signed JWT (header.payload.signature).');
        }
        if (!header.alg || !ALLOWED_ALGORITHMS.includes(header.alg)) {
          throw invalid(`Access token algorithm "${String(header.alg)}" is not supported; use ${ALLOWED_ALGORITHMS.join(' or ')}.`);
        }
        const iss = typeof unverified.iss === 'string' ? unverified.iss : '';
        const options = { algorithms: ALLOWED_ALGORITHMS, clockTolerance: CLOCK_SKEW_SECONDS, requiredClaims: ['exp'], currentDate: now };
        let payload: JWTPayload;
        if (trustedLocal && localKeys && iss === trustedLocal.issuer) {
          ({ payload } = await jwtVerify(token, localKeys, { ...options, issuer: trustedLocal.issuer, audience: trustedLocal.audience }));
        } else if (external && external.matches(iss, unverified.tid)) {
          payload = await external.verify(token, header, unverified, options);
        } else {
          throw invalid('Invalid issuer.');
        }
        const caller = claimsToCaller(payload, config.auth.adminRoleIds);
        verified.set(token, caller, payload, now.getTime());
        return caller;
      } catch (err) {
        throw describe(err);
      }
    },
  };
}
