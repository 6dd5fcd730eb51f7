import type { ContentStore } from '../content/content-store.ts';
import { inTransaction, type Db } from '../db/pool.ts';
import { insertDirectoryAudit } from '../db/queries/directory-audits.ts';
import { countTenantUsers, insertSeedContentBlobs, insertSeedDriveActivities, insertSeedDriveItems } from '../db/queries/seed.ts';
import { insertSignIns } from '../db/queries/sign-ins.ts';
import { insertUser } from '../db/queries/users.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import { COMPANIES } from './catalog.ts';
import { loadHeavySubject, type HeavyCounts } from './heavy-subject.ts';
import { createPrng } from './prng.ts';
import { buildDrive } from './seed-drive.ts';
import { buildSignIns } from './seed-sign-ins.ts';
import { addUserAudit, planProfiles, userAttributes } from './seed-users.ts';

export interface SeedTenantOptions {
  readonly db: Db;
  readonly contentStore: ContentStore;
  /** Default: derived from the seed, so the same seed names the same tenant. */
  readonly tenantId?: string;
  readonly users: number;
  readonly filesPerUser: number;
  readonly seed: string | number;
  /** Every record is dated in the 90 days before `now` (users are created earlier). */
  readonly now: Date;
  /** UPN domain; default `<company>.example`, the company picked by the seed. */
  readonly domain?: string;
  /**
   * Extra records for the first user, the heavy subject (streamed in with COPY; see
   * heavy-subject.ts). Files past the first 10,000 of every user go the same way.
   */
  readonly heavy?: Partial<Omit<HeavyCounts, 'files'>> | undefined;
}

export interface SeededUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  files: number;
  folders: number;
  bytes: number;
  driveActivities: number;
  signIns: number;
}

export interface SeedSummary {
  tenantId: string;
  domain: string;
  users: SeededUser[];
  totals: { users: number; files: number; folders: number; bytes: number; driveActivities: number; signIns: number; directoryAudits: number };
}

const MAX_USERS = 100_000;
const MAX_FILES_PER_USER = 1_000_000;
// Files up to this many per user get the full treatment (varied kinds and sizes, activity of their
// own); the rest are small text files streamed in by the heavy loader, so memory stays flat.
const ORDINARY_FILES_PER_USER = 10_000;

/**
 * Builds a deterministic synthetic tenant: users with realistic profiles, a OneDrive per user
 * (folder tree and files of varied types and sizes, bodies through the content store), 90 days
 * of drive activity and sign-ins, and an "Add user" directory audit per user. The same seed and
 * `now` give the same rows (ids included) and the same content hashes on every machine; every
 * part of the tenant draws from its own PRNG stream, so user 3 is the same whether 5 or 50 users
 * are seeded. Runs in one transaction into an empty tenant (bodies written to the content store
 * before a failure stay there, unreferenced; they are content-addressed and harmless).
 */
export async function seedTenant(opts: SeedTenantOptions): Promise<SeedSummary> {
  if (!Number.isInteger(opts.users) || opts.users < 0 || opts.users > MAX_USERS) throw new Error(`users must be an integer from 0 to ${MAX_USERS}`);
  if (!Number.isInteger(opts.filesPerUser) || opts.filesPerUser < 0 || opts.filesPerUser > MAX_FILES_PER_USER) {
    throw new Error(`filesPerUser must be an integer from 0 to ${MAX_FILES_PER_USER}`);
  }
  if (opts.tenantId !== undefined && !GUID_PATTERN.test(opts.tenantId)) throw new Error(`tenant "${opts.tenantId}" is not a GUID`);
  if (Number.isNaN(opts.now.getTime())) throw new Error('now is not a valid date');
  const root = createPrng(`dsr-export-seed:${String(opts.seed)}`);
  const tenantId = opts.tenantId?.toLowerCase() ?? root.fork('tenant').uuid();
  const domain = (opts.domain ?? `${root.fork('company').pick(COMPANIES)}.example`).toLowerCase();
  // Whole seconds, as sign-in and audit logs show them.
  const now = Math.floor(opts.now.getTime() / 1000) * 1000;
  const seeder = { appId: root.fork('seed-app').uuid(), servicePrincipalId: root.fork('seed-sp').uuid() };
  const profiles = planProfiles(root, opts.users, domain, now);

  return inTransaction(opts.db, async (tx) => {
    if ((await countTenantUsers(tx, tenantId)) > 0) {
      throw new Error(`tenant ${tenantId} already has users; seed into an empty tenant (another --seed or --tenant)`);
    }
    const seeded: SeededUser[] = [];
    for (const profile of profiles) {
      await insertUser(tx, tenantId, profile.id, userAttributes(profile), new Date(profile.createdAt));
      await insertDirectoryAudit(tx, addUserAudit(tenantId, profile, seeder));

      const drive = await buildDrive(profile, profiles, Math.min(opts.filesPerUser, ORDINARY_FILES_PER_USER), now, opts.contentStore);
      await insertSeedContentBlobs(tx, drive.blobs, new Date(now));
      await insertSeedDriveItems(tx, tenantId, drive.items);
      await insertSeedDriveActivities(tx, tenantId, drive.activities);
      const signIns = buildSignIns(profile, now);
      await insertSignIns(tx, tenantId, signIns);
      const extra = profile.index === 0 ? (opts.heavy ?? {}) : {};
      const counts: HeavyCounts = {
        signIns: extra.signIns ?? 0,
        driveEvents: extra.driveEvents ?? 0,
        driveItems: extra.driveItems ?? 0,
        files: Math.max(0, opts.filesPerUser - ORDINARY_FILES_PER_USER),
      };
      const heavy = await loadHeavySubject(tx, {
        tenantId,
        person: profile,
        rootId: drive.items[0]!.id,
        items: drive.filePaths,
        prng: profile.prng.fork('heavy'),
        now,
        counts,
        contentStore: opts.contentStore,
      });
      seeded.push({
        id: profile.id,
        userPrincipalName: profile.userPrincipalName,
        displayName: profile.displayName,
        files: drive.files + heavy.files,
        folders: drive.folders + heavy.folders,
        bytes: drive.bytes + heavy.bytes,
        driveActivities: drive.activities.length + heavy.driveEvents,
        signIns: signIns.length + heavy.signIns,
      });
    }
    const sum = (f: (u: SeededUser) => number) => seeded.reduce((s, u) => s + f(u), 0);
    return {
      tenantId,
      domain,
      users: seeded,
      totals: {
        users: seeded.length,
        files: sum((u) => u.files),
        folders: sum((u) => u.folders),
        bytes: sum((u) => u.bytes),
        driveActivities: sum((u) => u.driveActivities),
        signIns: sum((u) => u.signIns),
        directoryAudits: seeded.length,
      },
    };
  });
}
