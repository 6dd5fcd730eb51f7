import { createRemoteJWKSet, customFetch, jwtVerify, type ProtectedHeaderParameters, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { Config } from '../config.ts';
import { GraphError } from '../graph-error.ts';
import { GUID_PATTERN } from '../domain/formats.ts';

const MAX_KID_LENGTH = 256;
// Issuers whose keys have verified a token; only a signature made with an issuer's own keys
// enters, so tokens naming made-up tenants can never push a working tenant out.
const TRUSTED_ISSUERS = 5_000;
// Issuers being discovered, discovered but not yet proven by a token, or whose discovery failed.
const PROBATION_ISSUERS = 256;
// Discoveries of issuers not yet trusted, per minute, when any tenant may call (`*`): a flood of
// made-up tenants costs the IdP and this process at most this many fetches. Listed tenants are
// bounded by their list and never wait for this budget.
const DISCOVERIES_PER_MINUTE = 60;
const FIRST_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const DISCOVERY_TIMEOUT_MS = 5_000;

/** How long to wait after the n-th failure in a row (n ≥ 1) before asking the IdP again. */
const backoffMs = (failures: number) => Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (failures - 1));

/** Why a fetch from the IdP failed, in words safe to return: never the body the IdP sent. */
function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return 'failed';
  if (err.name === 'TimeoutError') return 'timed out';
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${err.message}: ${code}` : err.message;
}

function keysUnavailable(reason: string, waitMs: number): GraphError {
  return GraphError.serviceUnavailable(`The issuer's signing keys could not be obtained (${reason}); retry later.`, Math.ceil(waitMs / 1000));
}

/**
 * The fetch jose uses for one key set (JWKS). An unreachable or broken key endpoint is an outage,
 * not a bad token: it answers 503 with Retry-After, and during the back-off that follows each
 * failure no request reaches the endpoint (jose would otherwise fetch again for every token whose
 * key it lacks). Keys already fetched keep verifying meanwhile: jose fetches only when its copy is
 * stale or a token names a kid it has not seen.
 */
function guardedKeySetFetch(fetchImpl: typeof fetch, clock: () => Date): typeof fetch {
  let failure: { failures: number; retryAtMs: number; reason: string } | undefined;
  return async (input, init) => {
    const nowMs = clock().getTime();
    if (failure && nowMs < failure.retryAtMs) throw keysUnavailable(failure.reason, failure.retryAtMs - nowMs);
    try {
      const res = await fetchImpl(input, init);
      if (res.status !== 200) throw new Error(`the key set answered ${res.status}`);
      const text = await res.text();
      let doc: { keys?: unknown };
      try {
        doc = JSON.parse(text) as { keys?: unknown };
      } catch {
        throw new Error('the key set is not JSON');
      }
      if (!Array.isArray(doc?.keys)) throw new Error('the key set has no keys');
      failure = undefined;
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (err) {
      const failures = (failure?.failures ?? 0) + 1;
      failure = { failures, retryAtMs: nowMs + backoffMs(failures), reason: reasonOf(err) };
      throw keysUnavailable(failure.reason, backoffMs(failures));
    }
  };
}

function remoteKeySet(url: string, fetchImpl: typeof fetch, clock: () => Date): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), { [customFetch]: guardedKeySetFetch(fetchImpl, clock) });
}

/** A Map kept in least-recently-used order, dropping the oldest entry beyond `max`. */
class Lru<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

type Probation =
  | { state: 'pending'; keys: Promise<JWTVerifyGetKey> }
  | { state: 'discovered'; keys: JWTVerifyGetKey }
  | { state: 'failed'; failures: number; retryAtMs: number; reason: string };

export interface ExternalIssuer {
  /** Whether a token claiming this `iss` and `tid` is this issuer's to judge (no network). */
  matches(iss: string, tid: unknown): boolean;
  /**
   * Verifies a token that matches. Every check that needs no key comes first (tenant allowed,
   * `kid`, audience, lifetime), so a token that fails them never causes a fetch.
   */
  verify(token: string, header: ProtectedHeaderParameters, unverified: JWTPayload, options: JWTVerifyOptions & { currentDate: Date }): Promise<JWTPayload>;
}

function invalid(message: string): GraphError {
  return GraphError.invalidToken(message);
}

function checkBeforeKeys(header: ProtectedHeaderParameters, p: JWTPayload, audience: string, nowMs: number, skewSeconds: number): void {
  if (typeof header.kid !== 'string' || header.kid === '' || header.kid.length > MAX_KID_LENGTH) {
    throw invalid('Access token has no usable key id (kid) in its header.');
  }
  if (!(p.aud === audience || (Array.isArray(p.aud) && p.aud.includes(audience)))) throw invalid('Invalid audience.');
  if (typeof p.exp !== 'number') throw invalid('Access token claim "exp" is missing.');
  if (p.exp * 1000 + skewSeconds * 1000 <= nowMs) throw invalid('Lifetime validation failed, the token is expired.');
  if (typeof p.nbf === 'number' && p.nbf * 1000 - skewSeconds * 1000 > nowMs) throw invalid('Lifetime validation failed, the token is not yet valid.');
}

/**
 * The configured external OpenID Connect issuer, or undefined. `{tenantid}` in DSR_AUTH_ISSUER
 * stands for the token's own tid (multi-tenant Entra apps); DSR_AUTH_ALLOWED_TENANTS limits the
 * tenants (`*`: any). Keys come from DSR_AUTH_JWKS_URI, else from each issuer's discovery document.
 */
export function createExternalIssuer(
  config: Config,
  fetchImpl: typeof fetch,
  skewSeconds: number,
  clock: () => Date = () => new Date(),
): ExternalIssuer | undefined {
  const { externalIssuer: template, externalAudience: audience, externalJwksUri: jwksUri, allowedTenants } = config.auth;
  if (!template || !audience) return undefined;
  const allowed = allowedTenants === '*' ? undefined : new Set(allowedTenants.map((t) => t.toLowerCase()));
  // Only a GUID is substituted: an unverified tid must not steer discovery to other URLs.
  const expected = (tid: unknown) => template.replace('{tenantid}', typeof tid === 'string' && GUID_PATTERN.test(tid) ? tid : '\u0000');

  const fixedKeys = jwksUri ? remoteKeySet(jwksUri, fetchImpl, clock) : undefined;
  const trusted = new Lru<JWTVerifyGetKey>(TRUSTED_ISSUERS);
  const probation = new Lru<Probation>(PROBATION_ISSUERS);
  let budget = { windowStartMs: 0, used: 0 };

  const discover = async (iss: string): Promise<JWTVerifyGetKey> => {
    const res = await fetchImpl(`${iss.replace(/\/+$/, '')}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
      redirect: 'error',
    });
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    } catch (err) {
      if (err instanceof Error && err.name === 'TimeoutError') throw err;
      throw new Error('the discovery document is not JSON');
    }
    // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
    if (doc.issuer !== iss) throw new Error('the discovery document names another issuer');
    if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) throw new Error('the discovery document has no jwks_uri');
    return remoteKeySet(doc.jwks_uri, fetchImpl, clock);
  };

  const keysOf = async (iss: string, nowMs: number): Promise<JWTVerifyGetKey> => {
    if (fixedKeys) return fixedKeys;
    const known = trusted.get(iss);
    if (known) return known;
    const entry = probation.get(iss);
    if (entry?.state === 'discovered') return entry.keys;
    if (entry?.state === 'pending') return entry.keys;
    if (entry?.state === 'failed' && nowMs < entry.retryAtMs) {
      throw keysUnavailable(entry.reason, entry.retryAtMs - nowMs);
    }
    if (!allowed) {
      if (nowMs - budget.windowStartMs >= 60_000) budget = { windowStartMs: nowMs, used: 0 };
      if (budget.used >= DISCOVERIES_PER_MINUTE) {
        throw GraphError.serviceUnavailable('Too many unknown issuers at once; retry shortly.', Math.ceil((budget.windowStartMs + 60_000 - nowMs) / 1000));
      }
      budget.used += 1;
    }
    const failures = entry?.state === 'failed' ? entry.failures : 0;
    const keys = discover(iss);
    probation.set(iss, { state: 'pending', keys });
    try {
      const ready = await keys;
      probation.set(iss, { state: 'discovered', keys: ready });
      return ready;
    } catch (err) {
      const backoff = backoffMs(failures + 1);
      const reason = reasonOf(err);
      probation.set(iss, { state: 'failed', failures: failures + 1, retryAtMs: nowMs + backoff, reason });
      throw keysUnavailable(reason, backoff);
    }
  };

  return {
    matches: (iss, tid) => iss === expected(tid),
    async verify(token, header, unverified, options) {
      const tid = String(unverified.tid).toLowerCase();
      if (allowed && !allowed.has(tid)) throw invalid(`Tenant '${tid}' is not allowed to call this service.`);
      const iss = String(unverified.iss);
      const nowMs = options.currentDate.getTime();
      checkBeforeKeys(header, unverified, audience, nowMs, skewSeconds);
      const keys = await keysOf(iss, nowMs);
      const { payload } = await jwtVerify(token, keys, { ...options, issuer: iss, audience });
      if (!fixedKeys && !trusted.get(iss)) {
        trusted.set(iss, keys);
        probation.delete(iss);
      }
      return payload;
    },
  };
}
