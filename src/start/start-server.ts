import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { buildApp } from '../app.ts';
import { loadLocalIssuer, type LocalIssuer } from '../auth/local-issuer.ts';
import { createTokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import type { ContentStore } from '../content/content-store.ts';
import { startGarbageCollector } from '../content/collect-garbage.ts';
import { createCaseStorage } from '../cases/case-storage.ts';
import { startCasePurge } from '../cases/purge-packages.ts';
import { createContentStore } from '../content/create-content-store.ts';
import type { Db } from '../db/pool.ts';
import { deleteExpiredQuotaCounters } from '../db/queries/quotas.ts';
import type { AppDeps } from '../http/app-deps.ts';
import { createLogger } from '../logger.ts';
import { createMetrics } from '../metrics.ts';
import { openDatabase } from '../runtime/open-database.ts';
import { installSecretKeys, loadSecretKeys } from '../secrets/secret-keys.ts';
import { startWorker, type Worker } from '../worker/worker.ts';

// SIGTERM: uploads in flight get this long to finish before their leases are released.
export const SHUTDOWN_GRACE_MS = 10_000;
// Unreferenced content and old quota windows are rare; a sweep every 10 minutes is plenty.
const GARBAGE_COLLECTION_INTERVAL_SECONDS = 600;

export interface RunningServer {
  readonly url: string;
  readonly db: Db;
  readonly contentStore: ContentStore;
  readonly localIssuer: LocalIssuer | undefined;
  readonly worker: Worker | undefined;
  /** Graceful stop: /readyz goes 503, the worker releases its leases, in-flight requests finish. */
  stop(): Promise<void>;
}

/**
 * The keys that seal queued exports' SAS. With an external database other processes may share the
 * queue from other machines: each would make its own key file and could not open the others' SAS.
 */
export async function installKeys(config: Config, logger: Logger): Promise<void> {
  installSecretKeys(await loadSecretKeys(config));
  if (config.databaseUrl && config.secretKeys.length === 0) {
    logger.warn(
      "DSR_SECRET_KEY is not set: this process seals with its data folder's key; every API and worker process sharing this database needs the same key",
    );
  }
}

/** `serve`: the API (and, unless `withWorker` is false, a worker in the same process). */
export async function startServer(config: Config, opts: { withWorker: boolean; logger?: Logger }): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  await installKeys(config, logger);
  const database = await openDatabase(config, (line) => logger.debug({ postgres: line }, 'postgres'));
  if (database.applied.length > 0) logger.info({ migrations: database.applied }, 'migrations applied');
  const localIssuer = config.auth.localIssuer ? await loadLocalIssuer(config.dataDir) : undefined;
  const contentStore = createContentStore(config);
  const metrics = createMetrics();
  let worker: Worker | undefined;
  let draining = false;
  let publicUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const deps: AppDeps = {
    config,
    db: database.db,
    localIssuer,
    logger,
    contentStore,
    metrics,
    verifier: createTokenVerifier(config, localIssuer),
    clock: () => new Date(),
    publicUrl: () => publicUrl,
    draining: () => draining,
  };
  const app = await buildApp(deps);
  try {
    await app.listen({ host: config.host, port: config.port });
    if (opts.withWorker) worker = await startWorker({ config, db: database.db, contentStore, logger, metrics });
  } catch (err) {
    await app.close();
    await database.close();
    throw err;
  }
  const collector = startGarbageCollector(database.db, contentStore, {
    intervalSeconds: GARBAGE_COLLECTION_INTERVAL_SECONDS,
    onError: (err) => logger.warn({ err }, 'content garbage collection failed'),
  });
  const casePurge = startCasePurge(database.db, createCaseStorage(config.cases.storage), {
    intervalSeconds: GARBAGE_COLLECTION_INTERVAL_SECONDS,
    onError: (err) => logger.warn({ err }, 'case package purge failed'),
  });
  // Quota windows are a day long at most; two days later their counters can never count again.
  const quotaSweep = setInterval(() => {
    deleteExpiredQuotaCounters(database.db, new Date(Date.now() - 2 * 86_400_000)).catch((err: unknown) =>
      logger.warn({ err }, 'quota counter cleanup failed'),
    );
  }, GARBAGE_COLLECTION_INTERVAL_SECONDS * 1000);
  quotaSweep.unref();
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  publicUrl = config.publicUrl ?? `http://${host}:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    url: publicUrl,
    db: database.db,
    contentStore,
    localIssuer,
    worker,
    stop: () =>
      (stopping ??= (async () => {
        draining = true;
        clearInterval(quotaSweep);
        await collector.stop();
        await casePurge.stop();
        await worker?.stop(SHUTDOWN_GRACE_MS);
        await app.close();
        await database.close();
      })()),
  };
}
