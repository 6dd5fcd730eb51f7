import type { Config } from '../config.ts';
import { startEmbeddedPostgres } from '../embedded/postgres.ts';
import { migrate } from '../db/migrate.ts';
import { createPool, type Db } from '../db/pool.ts';

export interface OpenDatabase {
  readonly db: Db;
  /** Where the pool connects; contains the password, so never print it. */
  readonly url: string;
  readonly embedded: boolean;
  /** Migrations this call applied. */
  readonly applied: string[];
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = 'dsr_export';

/**
 * The one PostgreSQL (docs/architecture.md#processes): external when DSR_DATABASE_URL is set, otherwise the
 * embedded server under the data folder. Migrations are applied under an advisory lock.
 */
export async function openDatabase(config: Config, log: (line: string) => void = () => undefined, poolSize = 20): Promise<OpenDatabase> {
  if (config.databaseUrl) {
    const db = createPool(config.databaseUrl, poolSize);
    const applied = await migrate(db);
    return { db, url: config.databaseUrl, embedded: false, applied, close: () => db.end() };
  }
  const server = await startEmbeddedPostgres(config.dataDir, log);
  try {
    const admin = createPool(server.url, 1);
    try {
      const exists = await admin.query('select 1 from pg_database where datname = $1', [EMBEDDED_DATABASE]);
      if (exists.rowCount === 0) {
        // Two processes may race here; the loser's duplicate_database error is harmless.
        await admin.query(`create database ${EMBEDDED_DATABASE}`).catch((err: { code?: string }) => {
          if (err.code !== '42P04') throw err;
        });
      }
    } finally {
      await admin.end();
    }
    const url = server.url.replace(/\/postgres$/, `/${EMBEDDED_DATABASE}`);
    const db = createPool(url, poolSize);
    const applied = await migrate(db);
    return {
      db,
      url,
      embedded: true,
      applied,
      close: async () => {
        await db.end();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
