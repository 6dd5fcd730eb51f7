import type { Config } from '../config.ts';
import { createContentStore } from '../content/create-content-store.ts';
import { formatBytes } from '../export/render-package.ts';
import { openDatabase } from '../runtime/open-database.ts';
import { seedTenant } from '../seed/seed-tenant.ts';

export interface SeedOptions {
  users: number;
  files: number;
  /** Extra records of the first user, the heavy subject. */
  heavy: { signIns: number; driveEvents: number; driveItems: number };
  seed: string;
  tenant: string | undefined;
  json: boolean;
}

/** `dsr-export seed`: a deterministic synthetic tenant, summarised on stdout. */
export async function seedCommand(config: Config, opts: SeedOptions): Promise<void> {
  const db = await openDatabase(config);
  try {
    const summary = await seedTenant({
      db: db.db, contentStore: createContentStore(config), users: opts.users, filesPerUser: opts.files, seed: opts.seed, heavy: opts.heavy,
      now: new Date(), ...(opts.tenant ? { tenantId: opts.tenant } : {}),
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      const t = summary.totals;
      process.stdout.write(`tenant ${summary.tenantId}: ${t.users} users, ${t.files} files (${formatBytes(t.bytes)}), `
        + `${t.driveActivities} drive activities, ${t.signIns} sign-ins\n`);
      for (const u of summary.users.slice(0, 5)) process.stdout.write(`  ${u.userPrincipalName}  ${u.id}\n`);
      if (summary.users.length > 5) process.stdout.write(`  … and ${summary.users.length - 5} more\n`);
    }
  } finally {
    await db.close();
  }
}
