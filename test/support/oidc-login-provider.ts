import { exportJWK, generateKeyPair } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID Connect provider (the `oidc-provider` package) with its own login and consent
 * pages (its development interactions: any password is accepted for a known login), for a
 * browser that signs in with the authorization code flow and PKCE. One issuer at the root of a
 * free port; its access tokens are JWTs for `audience` carrying each user's claims, as Entra ID's
 * delegated tokens do (`tid`, `oid`, `scp`, `wids`, `upn`).
 */
export interface LoginProvider {
  readonly issuer: string;
  /** A user who can sign in as `login`; `name` goes in the ID token. */
  addUser(login: string, user: { name: string; tid: string; oid: string; upn: string; wids?: string[] }): void;
  /** Registers the public client (no secret, PKCE) with its redirect URI; CORS for its origin only. */
  registerClient(clientId: string, redirectUri: string): void;
  close(): Promise<void>;
}

/** The delegated scopes the provider's resource grants. */
export const PROVIDER_SCOPES = ['SubjectRightsRequest.ReadWrite.All', 'User.Read.All'];

export async function startLoginProvider(audience: string): Promise<LoginProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const users = new Map<string, { name: string; tid: string; oid: string; upn: string; wids?: string[] }>();
  const pair = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(pair.privateKey)), kid: 'login-es-1', alg: 'ES256', use: 'sig' };
  let callback: ReturnType<Provider['callback']> | undefined;

  server.on('request', (req, res) => {
    if (!callback) {
      res.statusCode = 503;
      res.end();
      return;
    }
    void callback(req, res);
  });

  return {
    issuer,
    addUser: (login, user) => void users.set(login, user),
    registerClient(clientId, redirectUri) {
      const origin = new URL(redirectUri).origin;
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            token_endpoint_auth_method: 'none',
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            id_token_signed_response_alg: 'ES256',
          },
        ],
        jwks: { keys: [signingKey] },
        cookies: { keys: ['dsr-test-login-cookie-key'] },
        clientBasedCORS: (_ctx, requestOrigin) => requestOrigin === origin,
        findAccount: (_ctx, id) => {
          const user = users.get(id);
          if (!user) return undefined;
          return { accountId: id, claims: () => ({ sub: id, name: user.name, preferred_username: user.upn }) };
        },
        features: {
          devInteractions: { enabled: true },
          resourceIndicators: {
            enabled: true,
            defaultResource: () => audience,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({
              scope: PROVIDER_SCOPES.join(' '),
              audience,
              accessTokenFormat: 'jwt',
              accessTokenTTL: 600,
              jwt: { sign: { alg: 'ES256' } },
            }),
          },
        },
        extraTokenClaims: (_ctx, token) => {
          const user = 'accountId' in token && typeof token.accountId === 'string' ? users.get(token.accountId) : undefined;
          if (!user) return undefined;
          return { tid: user.tid, oid: user.oid, upn: user.upn, scp: 'scope' in token ? token.scope : '', wids: user.wids ?? [], azp: clientId };
        },
      });
      callback = provider.callback();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A browser keeps its connections open; they would hold the close forever.
        server.closeAllConnections();
      }),
  };
}
