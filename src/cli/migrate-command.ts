import type { Config } from '../config.ts';
import { openDatabase } from '../runtime/open-database.ts';

/** `dsr-export migrate`: applies the pending migrations (opening the database does) and says which. */
export async function runMigrate(config: Config): Promise<void> {
  const db = await openDatabase(config);
  try {
    process.stdout.write(db.applied.length > 0 ? `applied: ${db.applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await db.close();
  }
}
