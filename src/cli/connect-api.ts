import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import { ApiClient } from './api-client.ts';
import { CliError } from './fail.ts';
import { mintToken } from './token-command.ts';

/** The flags of a command that talks to a running server. */
export interface ApiOptions {
  server?: string;
  token?: string;
  tenant?: string;
}

/**
 * The server and token a client command talks with: --server, else the configured public URL;
 * --token (or DSR_TOKEN), else with --tenant a fresh local-issuer application token.
 */
export async function connectApi(config: Config, opts: ApiOptions, roles: string): Promise<ApiClient> {
  const server = opts.server ?? config.publicUrl ?? `http://${config.host}:${config.port}`;
  let token = opts.token ?? process.env.DSR_TOKEN;
  if (!token) {
    if (!opts.tenant) throw new CliError('no token: pass --token <jwt> (or set DSR_TOKEN), or --tenant <guid> to mint a local one');
    token = await mintToken(config, { tenant: opts.tenant, app: randomUUID(), roles });
  }
  return new ApiClient(server, token);
}
