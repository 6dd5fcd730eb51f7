import type { JWK } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on a free port, laid out as Entra
 * ID lays out its tenants: one issuer per tenant at `{base}/{tenant}/v2.0`, each with its
 * discovery document, JWKS and token endpoint. Tokens are issued by the client-credentials grant
 * as JWT access tokens for `audience`, carrying the claims the test asks for.
 */
export interface TestOidcProvider {
  readonly base: string;
  /** Every request path, in order (before the tenant prefix is taken off). */
  readonly hits: string[];
  /** Tenants whose issuer misbehaves, and how, while listed here. */
  readonly faults: Map<string, OidcFault>;
  issuerOf(tenant: string): string;
  /** An access token issued by the tenant's issuer, signed with the key of `alg`. */
  token(tenant: string, claims: Record<string, unknown>, alg?: 'ES256' | 'RS256'): Promise<string>;
  close(): Promise<void>;
}

/**
 * An outage or a broken deployment at the tenant's issuer. `*-reset`: the connection is dropped
 * without an answer, as when the host is unreachable; `*-500`: an error page; `*-garbage`: 200
 * with a body that is not the expected JSON; `jwks-bad-keys`: a well-formed JWKS whose keys are
 * not usable (an EC key with coordinates that are no point).
 */
export type OidcFault =
  'discovery-reset' | 'discovery-500' | 'discovery-garbage' | 'discovery-wrong-issuer' | 'jwks-reset' | 'jwks-500' | 'jwks-garbage' | 'jwks-bad-keys';

const CLIENT = { id: 'dsr-test-client', secret: 'dsr-test-client-secret' };

export async function startOidcProvider(audience: string, signingKeys: JWK[]): Promise<TestOidcProvider> {
  const providers = new Map<string, ReturnType<Provider['callback']>>();
  const hits: string[] = [];
  const faults = new Map<string, OidcFault>();
  // The claims and algorithm of the token being issued (tests ask for one token at a time).
  let pending: { claims: Record<string, unknown>; alg: 'ES256' | 'RS256' } = { claims: {}, alg: 'ES256' };
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuerOf = (tenant: string) => `${base}/${tenant}/v2.0`;

  const providerFor = (tenant: string) => {
    let callback = providers.get(tenant);
    if (!callback) {
      const provider = new Provider(issuerOf(tenant), {
        clients: [
          {
            client_id: CLIENT.id,
            client_secret: CLIENT.secret,
            grant_types: ['client_credentials'],
            redirect_uris: [],
            response_types: [],
            id_token_signed_response_alg: 'ES256',
          },
        ],
        jwks: { keys: signingKeys },
        cookies: { keys: ['dsr-test-cookie-key'] },
        features: {
          clientCredentials: { enabled: true },
          devInteractions: { enabled: false },
          resourceIndicators: {
            enabled: true,
            defaultResource: () => audience,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({ scope: '', audience, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: pending.alg } } }),
          },
        },
        extraTokenClaims: () => pending.claims,
      });
      callback = provider.callback();
      providers.set(tenant, callback);
    }
    return callback;
  };

  server.on('request', (req: http.IncomingMessage & { originalUrl?: string }, res) => {
    const url = req.url ?? '/';
    hits.push(url);
    const m = /^\/([^/]+)\/v2\.0(\/.*)?$/.exec(url.split('?')[0]!);
    if (!m) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const fault = faults.get(m[1]!);
    const target = m[2] === '/.well-known/openid-configuration' ? 'discovery' : m[2] === '/jwks' ? 'jwks' : undefined;
    if (fault && target && fault.startsWith(`${target}-`)) {
      answerFault(fault, req, res, issuerOf(m[1]!));
      return;
    }
    // As when mounted under a path: the provider finds its mount point from originalUrl.
    req.originalUrl = url;
    req.url = url.slice(`/${m[1]}/v2.0`.length) || '/';
    void providerFor(m[1]!)(req, res);
  });

  return {
    base,
    hits,
    faults,
    issuerOf,
    async token(tenant, claims, alg = 'ES256') {
      pending = { claims, alg };
      const res = await fetch(`${issuerOf(tenant)}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: audience }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token) throw new Error(`the provider issued no token: ${res.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function answerFault(fault: OidcFault, req: http.IncomingMessage, res: http.ServerResponse, issuer: string): void {
  const json = (body: unknown) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  switch (fault) {
    case 'discovery-reset':
    case 'jwks-reset':
      req.socket.destroy();
      return;
    case 'discovery-500':
    case 'jwks-500':
      res.statusCode = 500;
      res.end('{}');
      return;
    case 'discovery-garbage':
    case 'jwks-garbage':
      res.setHeader('content-type', 'application/json');
      res.end('<html>Service temporarily unavailable</html>');
      return;
    case 'discovery-wrong-issuer':
      json({ issuer: `${issuer}/elsewhere`, jwks_uri: `${issuer}/jwks` });
      return;
    case 'jwks-bad-keys':
      json({
        keys: [
          { kty: 'EC', crv: 'P-256', kid: 'es-1', alg: 'ES256', use: 'sig', x: 'AAAA', y: 'AAAA' },
          { kty: 'RSA', kid: 'rs-1', alg: 'RS256', use: 'sig', n: 'AQAB', e: 'AQAB' },
        ],
      });
  }
}
