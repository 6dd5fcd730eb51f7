import type { Config } from '../config.ts';
import { createSignInLink, LINK_LIFETIME_SECONDS, signInUrl } from '../console/sign-in-links.ts';
import { findUsersByUpnInAnyTenant } from '../db/queries/console-sign-in-links.ts';
import { findUser } from '../db/queries/users.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import { openDatabase } from '../runtime/open-database.ts';
import { CliError } from './fail.ts';

export interface ConsoleLinkOptions {
  user: string;
  tenant?: string;
  admin?: boolean;
  server?: string;
}

/**
 * `console-link`: a one-time sign-in link to the console for a directory user. Whoever runs the CLI
 * on the service's machine holds its data folder and keys, so it decides, as with `token --admin`,
 * whether the user signs in with the administrator role the case routes require.
 */
export async function createConsoleLink(config: Config, opts: ConsoleLinkOptions): Promise<{ url: string; expiresInSeconds: number }> {
  if (!config.auth.localIssuer) {
    throw new CliError(
      'console sign-in links need the local issuer (DSR_AUTH_LOCAL_ISSUER=true)',
      'With an external OpenID Connect issuer, sign in through it.',
    );
  }
  if (opts.tenant !== undefined && !GUID_PATTERN.test(opts.tenant)) throw new CliError('--tenant must be a GUID');
  const database = await openDatabase(config);
  try {
    let user: { tenant_id: string; id: string } | undefined;
    if (opts.tenant) {
      user = await findUser(database.db, opts.tenant.toLowerCase(), opts.user);
    } else {
      const found = await findUsersByUpnInAnyTenant(database.db, opts.user);
      if (found.length > 1) throw new CliError(`"${opts.user}" is a user of several tenants`, 'Pass --tenant <guid>.');
      user = found[0];
    }
    if (!user)
      throw new CliError(
        `no user "${opts.user}"${opts.tenant ? ` in tenant ${opts.tenant}` : ''}`,
        'Pass the user principal name of a directory user (and --tenant <guid> with an object id).',
      );
    const nonce = await createSignInLink(database.db, { tenantId: user.tenant_id, userId: user.id, admin: Boolean(opts.admin) }, new Date());
    const server = (opts.server ?? config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '');
    return { url: signInUrl(server, nonce), expiresInSeconds: LINK_LIFETIME_SECONDS };
  } finally {
    await database.close();
  }
}

/** `dsr-export console-link`: the link alone on stdout, how long it works on stderr. */
export async function runConsoleLink(config: Config, opts: ConsoleLinkOptions): Promise<void> {
  const { url, expiresInSeconds } = await createConsoleLink(config, opts);
  process.stdout.write(`${url}\n`);
  process.stderr.write(`works once, for ${expiresInSeconds / 60} minutes\n`);
}
