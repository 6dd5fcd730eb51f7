import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';

/** GET /.well-known/jwks.json: the local issuer's public key, for anyone verifying its tokens. */
export function jwks(app: FastifyInstance, deps: AppDeps): void {
  app.get('/.well-known/jwks.json', async () => deps.localIssuer?.jwks ?? { keys: [] });
}
