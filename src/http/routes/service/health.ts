import type { FastifyInstance } from 'fastify';
import { migrationsApplied } from '../../../db/migrate.ts';
import type { AppDeps } from '../../app-deps.ts';

/** GET /healthz: the process answers. */
export function healthz(app: FastifyInstance): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
}

/** GET /readyz: database reachable, migrations applied, not draining (docs/architecture.md#operating). */
export function readyz(app: FastifyInstance, deps: Pick<AppDeps, 'db' | 'draining'>): void {
  app.get('/readyz', async (_request, reply) => {
    const draining = deps.draining();
    const database = await deps.db.query('select 1').then(
      () => true,
      () => false,
    );
    const migrations = database && (await migrationsApplied(deps.db));
    const ready = database && migrations && !draining;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database, migrations, draining });
  });
}
