import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { importActivity } from '../activity/import-activity.ts';
import type { Config } from '../config.ts';
import { openDatabase } from '../runtime/open-database.ts';
import { CliError, requireGuid } from './fail.ts';

/** `dsr-export import-activity`: sign-ins from a file of JSON lines; any bad line loads nothing unless skipInvalid. */
export async function importActivityCommand(config: Config, file: string, opts: { tenant: string; skipInvalid: boolean; json: boolean }): Promise<void> {
  requireGuid('--tenant', opts.tenant);
  // Checked before anything else: a missing file would otherwise surface as a stream error.
  await access(file, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file} (${err.code ?? err.message})`, 'Pass a file of Graph signIn records, one JSON object per line.');
  });
  const db = await openDatabase(config);
  try {
    const summary = await importActivity(db.db, opts.tenant, file, { skipInvalid: opts.skipInvalid });
    if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      process.stdout.write(`read ${summary.read} lines: imported ${summary.imported}, duplicates ${summary.duplicates}, invalid ${summary.errors.length}\n`);
      for (const e of summary.errors.slice(0, 20)) process.stdout.write(`  line ${e.line}: ${e.message}\n`);
    }
    if (summary.errors.length > 0 && !opts.skipInvalid) {
      throw new CliError(
        `${file} has ${summary.errors.length} invalid line(s); nothing was imported`,
        'Fix them, or pass --skip-invalid to load the valid lines.',
      );
    }
  } finally {
    await db.close();
  }
}
