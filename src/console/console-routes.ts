import type { FastifyInstance, FastifyReply } from 'fastify';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config.ts';
import type { AppDeps } from '../http/app-deps.ts';
import { GraphError } from '../graph-error.ts';
import { exchangeSignInLink } from './sign-in-links.ts';

/**
 * The console's pages: its own scripts and styles only, calls to this origin only; nothing inline,
 * nothing from another origin, and no framing (clickjacking of the review buttons).
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/**
 * With sign-in through the external issuer the page also talks to the issuer's origin (its
 * discovery document and token endpoint, which a public client calls itself); still no script,
 * style or frame from anywhere else.
 */
export function consoleCsp(config: Config): string {
  if (!config.console) return CONSOLE_CSP;
  return CONSOLE_CSP.replace("connect-src 'self'", `connect-src 'self' ${new URL(config.console.issuer).origin}`);
}

// Exactly these files are served: no path from the request ever reaches the file system.
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'screens.js': 'text/javascript; charset=utf-8',
  'request-page.js': 'text/javascript; charset=utf-8',
  'requests-list.js': 'text/javascript; charset=utf-8',
  'directory-lookup.js': 'text/javascript; charset=utf-8',
  'privacy-statement.js': 'text/javascript; charset=utf-8',
  'live.js': 'text/javascript; charset=utf-8',
  'sign-in.js': 'text/javascript; charset=utf-8',
  'oauth4webapi.js': 'text/javascript; charset=utf-8',
};
const PUBLIC = new URL('./public/', import.meta.url);
// The OAuth client library, served from the installed package (pinned in package.json): no CDN.
const VENDORED: Record<string, URL> = {
  'oauth4webapi.js': pathToFileURL(createRequire(import.meta.url).resolve('oauth4webapi')),
};

/**
 * `/console`: the privacy console, plain ES modules read from `src/console/public` (no build step)
 * and the OAuth library from its package; `/console/config.json`, how to sign in; and
 * `POST /console/session`, which spends a one-time sign-in link of the local issuer for a short
 * delegated token. A sign-in through the external issuer happens between the browser and the
 * issuer. Everything else the console does goes through the Graph routes with its token, under the
 * same permission checks as any client.
 */
export function consoleRoutes(app: FastifyInstance, deps: AppDeps): void {
  const csp = consoleCsp(deps.config);
  const serve = async (name: string, reply: FastifyReply) => {
    const type = Object.hasOwn(FILES, name) ? FILES[name]! : undefined;
    if (!type) throw GraphError.notFound(`The console has no file "${name}".`);
    return reply
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .type(type)
      .send(await readFile(VENDORED[name] ?? new URL(name, PUBLIC)));
  };
  // Also /console/ (the router ignores a trailing slash); the page names its files absolutely.
  app.get('/console', async (_request, reply) => serve('index.html', reply));
  // How to sign in: public facts only (the issuer, the console's public client id, the scope).
  app.get('/console/config.json', async (_request, reply) =>
    reply.header('cache-control', 'no-cache').send({
      localSignIn: deps.localIssuer !== undefined,
      oidc: deps.config.console ?? null,
    }),
  );
  app.get<{ Params: { file: string } }>('/console/:file', async (request, reply) => serve(request.params.file, reply));
  app.post('/console/session', async (request, reply) => {
    if (!deps.localIssuer) {
      throw GraphError.forbidden(
        'Console sign-in links need the local issuer (DSR_AUTH_LOCAL_ISSUER=true); sign in through your OpenID Connect issuer instead.',
      );
    }
    const body = request.body as Record<string, unknown> | null | undefined;
    const session = await exchangeSignInLink(deps.db, deps.localIssuer, body?.link, deps.clock());
    return reply.header('cache-control', 'no-store').send(session);
  });
}
