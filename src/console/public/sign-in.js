// Sign-in: with the external OpenID Connect issuer (authorization code with PKCE, through the
// oauth4webapi library served by this origin), or with a one-time link of the local issuer.
import * as oauth from '/console/oauth4webapi.js';
import { GraphRequestError, setSession } from './api.js';
import { h, show } from './dom.js';

// The PKCE verifier, state and nonce must outlive the trip to the issuer and back, which leaves
// this page: they wait in sessionStorage (this tab and origin only) and are removed when the
// issuer's answer comes back, used or not. They are worthless without the code, which only this
// tab receives. The tokens themselves never touch storage: they live in api.js's memory.
const PENDING = 'dsr-console-sign-in';

/** What /console/config.json says: `{ localSignIn, oidc: { issuer, clientId, scope } | null }`. */
export async function loadSignInConfig() {
  const response = await fetch('/console/config.json');
  if (!response.ok)
    throw new GraphRequestError(response.status, 'consoleConfig', 'The console could not read its sign-in settings.', response.headers.get('request-id'));
  return response.json();
}

function redirectUri() {
  return `${location.origin}/console/`;
}

// Plain http only for an issuer on this machine (a development IdP); anywhere else the library
// insists on https.
function requestOptions(issuer) {
  return { [oauth.allowInsecureRequests]: issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname) };
}

async function discover(oidc) {
  const issuer = new URL(oidc.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...requestOptions(issuer) });
  return oauth.processDiscoveryResponse(issuer, response);
}

/** Leaves for the issuer's sign-in page; `returnTo` is the console route to come back to. */
export async function beginSignIn(oidc, returnTo) {
  const as = await discover(oidc);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, returnTo }));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    response_type: 'code',
    scope: oidc.scope,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    // In the fragment, the code never reaches a server or its logs (it is spent at once anyway).
    response_mode: 'fragment',
  }).toString();
  location.assign(url.href);
}

/** Whether the address is the issuer's answer (`#code=…&state=…` or `#error=…&state=…`). */
export function isSignInResponse(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  return params.has('state') && (params.has('code') || params.has('error'));
}

function describe(err) {
  if (err instanceof oauth.AuthorizationResponseError || err instanceof oauth.ResponseBodyError) {
    return new GraphRequestError(0, err.error, `The sign-in was refused: ${err.error_description || err.error}.`, null);
  }
  if (err instanceof GraphRequestError) return err;
  return new GraphRequestError(0, 'signInFailed', `The sign-in failed: ${err.message}`, null);
}

/**
 * Spends the issuer's answer: checks state, swaps the code and the PKCE verifier for tokens at
 * the token endpoint, checks the ID token (issuer, audience, nonce, lifetime) and keeps the access
 * token in memory. Returns the console route to go on with.
 */
export async function completeSignIn(oidc) {
  const answer = new URLSearchParams(location.hash.replace(/^#/, ''));
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null');
  sessionStorage.removeItem(PENDING);
  // The code out of the address bar and history at once, whatever happens next.
  history.replaceState(null, '', `${location.pathname}#/requests`);
  try {
    if (!pending)
      throw new GraphRequestError(0, 'signInExpired', 'This sign-in answer was not started from this tab, or was already used. Sign in again.', null);
    const as = await discover(oidc);
    const client = { client_id: oidc.clientId };
    const options = requestOptions(new URL(oidc.issuer));
    const params = oauth.validateAuthResponse(as, client, answer, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri(), pending.verifier, options);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
    if (String(tokens.token_type).toLowerCase() !== 'bearer') throw new Error(`the issuer answered a ${tokens.token_type} token, not a bearer token`);
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    const session = {
      accessToken: tokens.access_token,
      expiresIn: tokens.expires_in,
      userPrincipalName: claims.preferred_username ?? claims.upn ?? claims.email ?? claims.sub,
      displayName: claims.name ?? null,
      tenantId: claims.tid ?? null,
    };
    setSession(session);
    if (typeof pending.returnTo === 'string' && pending.returnTo.startsWith('#/')) history.replaceState(null, '', `${location.pathname}${pending.returnTo}`);
    return session;
  } catch (err) {
    throw describe(err);
  }
}

/** The screen for a visitor who is not signed in, with the ways this service offers. */
export function renderSignIn(main, config) {
  const ways = [];
  if (config?.oidc) {
    const button = h('button', { type: 'button' }, 'Sign in');
    const problem = h('div', { 'aria-live': 'assertive' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await beginSignIn(config.oidc, location.hash.startsWith('#/') ? location.hash : '#/requests');
      } catch (err) {
        button.disabled = false;
        const failure = describe(err);
        problem.replaceChildren(h('p', { class: 'error', role: 'alert' }, failure.message));
      }
    });
    ways.push(h('p', {}, `Sign in with your organisation's account at ${new URL(config.oidc.issuer).host}.`), button, problem);
  }
  if (!config || config.localSignIn) {
    ways.push(
      h(
        'p',
        {},
        config?.oidc
          ? 'Or open a one-time sign-in link, made on the server with:'
          : 'Open a one-time sign-in link to use the console. Ask for one on the server with:',
      ),
      h('pre', {}, h('code', {}, 'dsr-export console-link --user <your user principal name>')),
      h('p', {}, 'The link works once and for a few minutes.'),
    );
  }
  if (ways.length === 0) ways.push(h('p', {}, 'This service offers no console sign-in: set DSR_CONSOLE_CLIENT_ID (see docs/console.md).'));
  show(main, h('h1', {}, 'Sign in'), ways, h('p', {}, 'Reloading this page signs you out.'));
}
