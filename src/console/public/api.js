// The console's only way to the service: the Graph routes, with the signed-in user's token.
// The token lives in this module's variable only (never localStorage or a cookie): a reload
// signs out, and nothing of it survives the tab.
let session = null;

export class GraphRequestError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

export function currentSession() {
  return session;
}

/** Keeps the token of a sign-in through the external issuer (sign-in.js), in memory only. */
export function setSession(value) {
  session = value;
}

async function failure(response) {
  let code = `http${response.status}`;
  let message = response.statusText || 'The request failed.';
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON: the status line is all there is.
  }
  return new GraphRequestError(response.status, code, message, response.headers.get('request-id'));
}

/** Spends a one-time sign-in link (its nonce) for a token. */
export async function signIn(link) {
  const response = await fetch('/console/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ link }),
  });
  if (!response.ok) throw await failure(response);
  session = await response.json();
  return session;
}

function authorization() {
  if (!session) throw new GraphRequestError(401, 'notSignedIn', 'You are not signed in. Reload the console to sign in again.', null);
  return { authorization: `Bearer ${session.accessToken}` };
}

/** A Graph call; `path` is /v1.0/… or an @odata.nextLink of this service. */
export async function graph(method, path, body) {
  const url = new URL(path, location.origin);
  if (url.origin !== location.origin)
    throw new GraphRequestError(0, 'foreignLink', 'The service returned a link to another origin; it was not followed.', null);
  const headers = { ...authorization(), accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url.pathname + url.search, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

/**
 * Downloads a final report or attachment without holding it in memory: the route, asked with
 * `Prefer: dsr.downloadUrl`, answers a short-lived URL of this origin for that one file, and the
 * browser navigates to it, saving the response to disk as it arrives.
 */
export async function download(path) {
  const response = await fetch(path, { headers: { ...authorization(), prefer: 'dsr.downloadUrl' } });
  if (!response.ok) throw await failure(response);
  const url = new URL((await response.json())['@microsoft.graph.downloadUrl'], location.origin);
  if (url.origin !== location.origin)
    throw new GraphRequestError(0, 'foreignLink', 'The service returned a download link to another origin; it was not followed.', null);
  const a = document.createElement('a');
  a.href = url.href;
  a.download = '';
  document.body.append(a);
  a.click();
  a.remove();
}
