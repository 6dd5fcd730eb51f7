import { createPool, type Db } from '../../src/db/pool.ts';
import { startWorker, type Worker, type WorkerOptions } from '../../src/worker/worker.ts';

/**
 * In-process workers, each on a pool of its own as separate processes would be. `stopAll` stops
 * the ones still listed and ends their pools (a test's afterAll, or a test that wants none left).
 */
export interface WorkerFleet {
  readonly running: readonly Worker[];
  start(dbUrl: string, opts: Omit<WorkerOptions, 'db'>, poolSize?: number): Promise<Worker>;
  stopAll(graceMs?: number): Promise<void>;
}

export function workerFleet(): WorkerFleet {
  const workers: Worker[] = [];
  const pools: Db[] = [];
  return {
    running: workers,
    async start(dbUrl, opts, poolSize = 4) {
      const db = createPool(dbUrl, poolSize);
      pools.push(db);
      const worker = await startWorker({ ...opts, db });
      workers.push(worker);
      return worker;
    },
    async stopAll(graceMs = 500) {
      for (const w of workers.splice(0)) await w.stop(graceMs).catch(() => undefined);
      for (const p of pools.splice(0)) await p.end().catch(() => undefined);
    },
  };
}
