import type { Config } from '../config.ts';
import { createContentStore } from '../content/create-content-store.ts';
import { formatBytes } from '../export/render-package.ts';
import { openDatabase } from '../runtime/open-database.ts';
import { seedTenant } from '../seed/seed-tenant.ts';
import { CliError, requireGuid } from './fail.ts';

export interface SeedOptions {
  users: number;
  files: number;
  /** Extra records of the first user, the heavy subject. */
  heavy: { signIns: number; driveEvents: number; driveItems: number };
  seed: string;
  tenant: string | undefined;
  json: boolean;
}

/** The command line's flags, as commander gives them. */
export interface SeedFlags {
  users: string;
  files: string;
  signIns: string;
  driveEvents: string;
  driveItems: string;
  seed: string;
  tenant?: string;
  json?: boolean;
}

/** Checks the flags before any work: each count a whole number, the tenant a GUID. */
export function seedOptions(flags: SeedFlags): SeedOptions {
  const users = Number(flags.users);
  const files = Number(flags.files);
  if (!Number.isInteger(users) || users < 1) throw new CliError('--users must be a positive integer');
  if (!Number.isInteger(files) || files < 0) throw new CliError('--files must be a whole number');
  const heavy = { signIns: Number(flags.signIns), driveEvents: Number(flags.driveEvents), driveItems: Number(flags.driveItems) };
  for (const [flag, n] of [
    ['--sign-ins', heavy.signIns],
    ['--drive-events', heavy.driveEvents],
    ['--drive-items', heavy.driveItems],
  ] as const) {
    if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be a whole number`);
  }
  if (flags.tenant !== undefined) requireGuid('--tenant', flags.tenant);
  return { users, files, heavy, seed: flags.seed, tenant: flags.tenant, json: Boolean(flags.json) };
}

/** `dsr-export seed`: a deterministic synthetic tenant, summarised on stdout. */
export async function seedCommand(config: Config, opts: SeedOptions): Promise<void> {
  const db = await openDatabase(config);
  try {
    const summary = await seedTenant({
      db: db.db,
      contentStore: createContentStore(config),
      users: opts.users,
      filesPerUser: opts.files,
      seed: opts.seed,
      heavy: opts.heavy,
      now: new Date(),
      ...(opts.tenant ? { tenantId: opts.tenant } : {}),
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      const t = summary.totals;
      process.stdout.write(
        `tenant ${summary.tenantId}: ${t.users} users, ${t.files} files (${formatBytes(t.bytes)}), ` +
          `${t.driveActivities} drive activities, ${t.signIns} sign-ins\n`,
      );
      for (const u of summary.users.slice(0, 5)) process.stdout.write(`  ${u.userPrincipalName}  ${u.id}\n`);
      if (summary.users.length > 5) process.stdout.write(`  … and ${summary.users.length - 5} more\n`);
    }
  } finally {
    await db.close();
  }
}
