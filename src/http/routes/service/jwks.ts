import type { FastifyInstance } from 'fastify';
import { selectPackageSigningKeys } from '../../../db/queries/package-signing-keys.ts';
import type { AppDeps } from '../../app-deps.ts';

/**
 * GET /.well-known/jwks.json: the local issuer's public key, for anyone verifying its tokens, and
 * every worker's package-signing key (kid `package-signing-…`), for `dsr-export verify`.
 */
export function jwks(app: FastifyInstance, deps: AppDeps): void {
  app.get('/.well-known/jwks.json', async () => ({
    keys: [...(deps.localIssuer?.jwks.keys ?? []), ...(await selectPackageSigningKeys(deps.db))],
  }));
}
