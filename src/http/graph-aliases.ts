import type { FastifyRequest } from 'fastify';
import { GraphError } from '../graph-error.ts';
import { GUID_PATTERN } from './odata.ts';

/** Stands for the signed-in user in a rewritten `/me` URL; no userPrincipalName can be it (a UPN has a name before '@'). */
export const ME_KEY = '@me';

/**
 * Graph's other addresses of the same resources, rewritten before routing so that every route
 * serves them with one handler:
 * - `/{v}/me[/…]` → `/{v}/users/@me[/…]` (resolved to the caller after authentication);
 * - `/{v}/drives/{driveId}[/…]` → `/{v}/users/{driveId}/drive[/…]` (a drive's id is its owner's id).
 * A drive id that is not a GUID is left alone and ends as an unknown route.
 */
export function rewriteGraphAlias(url: string): string {
  const m = /^\/(v1\.0|beta)\/(?:(me)|drives\/([^/?#]+))(?=[/?#]|$)/i.exec(url);
  if (!m) return url;
  const rest = url.slice(m[0].length);
  if (m[2] !== undefined) return `/${m[1]}/users/${ME_KEY}${rest}`;
  const driveId = decodeURIComponentSafe(m[3]!);
  if (!GUID_PATTERN.test(driveId)) return url;
  return `/${m[1]}/users/${driveId}/drive${rest}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * After authentication (in the Graph routes' hook): `@me` becomes the caller's object id.
 * Application tokens have no signed-in user; Graph answers them 400 for every `/me` URL.
 */
export function resolveMeAlias(request: FastifyRequest): void {
  const params = request.params as Record<string, string> | undefined;
  if (params?.user !== ME_KEY) return;
  if (request.caller.kind === 'application') {
    throw GraphError.badRequest('/me request is only valid with delegated authentication flow.');
  }
  params.user = request.caller.oid;
}
