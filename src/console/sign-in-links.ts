import { createHash, randomBytes } from 'node:crypto';
import { tokenClaims, type LocalIssuer } from '../auth/local-issuer.ts';
import type { Queryable } from '../db/pool.ts';
import { deleteStaleConsoleSignInLinks, insertConsoleSignInLink, useConsoleSignInLink } from '../db/queries/console-sign-in-links.ts';
import { findUser } from '../db/queries/users.ts';
import { GraphError } from '../graph-error.ts';

/** A link is meant to be clicked right after it is printed. */
export const LINK_LIFETIME_SECONDS = 5 * 60;
/** The console's token: short, so a page left open does not hold access for long; sign in again after. */
export const CONSOLE_TOKEN_SECONDS = 30 * 60;
/**
 * What the console's client app asks for, as any delegated client would: the case API, the
 * directory look-up and the tenant's exports. The routes still decide: without an administrator
 * directory role (`wids`) these `.All` scopes reach nothing tenant-wide.
 */
export const CONSOLE_SCOPES = ['SubjectRightsRequest.ReadWrite.All', 'User.Read.All', 'User.Export.All'];
/** The console's client app id (azp/appid of its tokens), so audit logs tell console calls apart. */
export const CONSOLE_CLIENT_ID = '00000000-0000-0000-0000-00000000c0e5';

function hashNonce(nonce: string): Buffer {
  return createHash('sha256').update(nonce, 'utf8').digest();
}

/** Makes a one-time link for a user; returns the nonce, which is only ever in the link itself. */
export async function createSignInLink(q: Queryable, user: { tenantId: string; userId: string; admin: boolean }, now: Date): Promise<string> {
  await deleteStaleConsoleSignInLinks(q, now);
  const nonce = randomBytes(32).toString('base64url');
  await insertConsoleSignInLink(q, {
    nonceHash: hashNonce(nonce),
    tenantId: user.tenantId,
    userId: user.userId,
    admin: user.admin,
    now,
    expiresAt: new Date(now.getTime() + LINK_LIFETIME_SECONDS * 1000),
  });
  return nonce;
}

export function signInUrl(publicUrl: string, nonce: string): string {
  // In the fragment: the browser never sends it to a server, a proxy log or a Referer header.
  return `${publicUrl}/console/#link=${nonce}`;
}

export interface ConsoleSession {
  accessToken: string;
  expiresIn: number;
  userPrincipalName: string;
  displayName: string | null;
  tenantId: string;
}

/** Spends a link and mints the user's delegated token. Any failure is the same 401: no oracle. */
export async function exchangeSignInLink(q: Queryable, issuer: LocalIssuer, nonce: unknown, now: Date): Promise<ConsoleSession> {
  const refused = GraphError.invalidToken(
    'This sign-in link is not valid: it was already used, it expired, or it was never issued. Ask for a new one with: dsr-export console-link --user <upn>',
  );
  if (typeof nonce !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(nonce)) throw refused;
  const link = await useConsoleSignInLink(q, hashNonce(nonce), now);
  if (!link) throw refused;
  const user = await findUser(q, link.tenant_id, link.user_id);
  if (!user) throw refused;
  const accessToken = await issuer.sign(
    tokenClaims({
      tenant: link.tenant_id,
      clientAppId: CONSOLE_CLIENT_ID,
      user: { id: user.id, upn: user.user_principal_name, scopes: CONSOLE_SCOPES, admin: link.admin },
    }),
    CONSOLE_TOKEN_SECONDS,
  );
  return {
    accessToken,
    expiresIn: CONSOLE_TOKEN_SECONDS,
    userPrincipalName: user.user_principal_name,
    displayName: user.display_name ?? null,
    tenantId: link.tenant_id,
  };
}
