import { loadLocalIssuer, tokenClaims, type TokenRequest } from '../auth/local-issuer.ts';
import type { Config } from '../config.ts';
import { findUser } from '../db/queries/users.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import { openDatabase } from '../runtime/open-database.ts';
import { CliError } from './fail.ts';

export interface TokenOptions {
  tenant?: string;
  app?: string;
  roles?: string;
  user?: string;
  scopes?: string;
  admin?: boolean;
  expiresIn?: string;
}

function csv(raw: string | undefined): string[] {
  return (raw ?? '').split(/[,\s]+/).filter(Boolean);
}

/**
 * Mints a local-issuer token (docs/architecture.md#configuration). A --user given as a UPN is looked up in the
 * directory, because the token's oid must be the user's object id.
 */
export async function mintToken(config: Config, opts: TokenOptions): Promise<string> {
  if (!config.auth.localIssuer) {
    throw new CliError(
      'the local issuer is disabled (DSR_AUTH_LOCAL_ISSUER=false, the default when DSR_AUTH_ISSUER is set)',
      'Get tokens from your OpenID Connect issuer instead, or set DSR_AUTH_LOCAL_ISSUER=true to trust both.',
    );
  }
  if (!opts.tenant || !GUID_PATTERN.test(opts.tenant))
    throw new CliError('--tenant <guid> is required', 'Example: dsr-export token --tenant 3f2b… --app 7c1e… --roles User.Export.All');
  if (Boolean(opts.app) === Boolean(opts.user)) throw new CliError('give either --app <id> (application token) or --user <upn or id> (delegated token)');
  const expiresInSeconds = Number(opts.expiresIn ?? 3600);
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds <= 0) throw new CliError('--expires-in must be a positive number of seconds');
  const request: TokenRequest = { tenant: opts.tenant.toLowerCase() };
  if (opts.app) {
    if (!GUID_PATTERN.test(opts.app)) throw new CliError('--app must be the application (client) id, a GUID');
    request.app = { id: opts.app.toLowerCase(), roles: csv(opts.roles) };
  } else {
    let id = opts.user!;
    let upn: string | undefined;
    if (!GUID_PATTERN.test(id)) {
      const database = await openDatabase(config);
      try {
        const user = await findUser(database.db, request.tenant, id);
        if (!user) throw new CliError(`no user "${id}" in tenant ${request.tenant}`, 'Create it first (POST /v1.0/users) or pass its object id.');
        upn = user.user_principal_name;
        id = user.id;
      } finally {
        await database.close();
      }
    }
    request.user = { id: id.toLowerCase(), upn, scopes: csv(opts.scopes), admin: Boolean(opts.admin) };
  }
  const issuer = await loadLocalIssuer(config.dataDir);
  return issuer.sign(tokenClaims(request), expiresInSeconds);
}
