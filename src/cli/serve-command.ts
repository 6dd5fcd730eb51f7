import type { AddressInfo } from 'node:net';
import { buildApp } from '../app.ts';
import { loadLocalIssuer } from '../auth/local-issuer.ts';
import { createTokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import { createContentStore } from '../content/create-content-store.ts';
import type { AppDeps } from '../http/app-deps.ts';
import { createLogger } from '../logger.ts';
import { openDatabase } from '../runtime/open-database.ts';

export interface RunningServer {
  readonly url: string;
  /** Graceful stop: /readyz goes 503, in-flight requests finish, then everything closes. */
  stop(): Promise<void>;
}

/** `serve`: the API (and, unless `withWorker` is false, a worker) until stopped. */
export async function startServer(config: Config, opts: { withWorker: boolean }): Promise<RunningServer> {
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config, (line) => logger.debug({ postgres: line }, 'postgres'));
  if (database.applied.length > 0) logger.info({ migrations: database.applied }, 'migrations applied');
  const localIssuer = config.auth.localIssuer ? await loadLocalIssuer(config.dataDir) : undefined;
  let draining = false;
  let publicUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const deps: AppDeps = {
    config, db: database.db, localIssuer, logger, contentStore: createContentStore(config),
    verifier: createTokenVerifier(config, localIssuer),
    clock: () => new Date(),
    publicUrl: () => publicUrl,
    draining: () => draining,
  };
  const app = await buildApp(deps);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await database.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  publicUrl = config.publicUrl ?? `http://${host}:${port}`;
  void opts;
  let stopping: Promise<void> | undefined;
  return {
    url: publicUrl,
    stop: () => (stopping ??= (async () => {
      draining = true;
      await app.close();
      await database.close();
    })()),
  };
}
