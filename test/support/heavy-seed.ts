import type { ContentStore } from '../../src/content/content-store.ts';
import type { Db } from '../../src/db/pool.ts';
import { seedTenant, type SeededUser } from '../../src/seed/seed-tenant.ts';
import type { SeededUser as FixtureUser } from './export-fixtures.ts';

export interface HeavySubjectRequest {
  /** Sign-ins on top of the ~130 of an ordinary seeded user. */
  signIns?: number;
  /** Drive activity records on top of the ordinary ones. */
  driveEvents?: number;
  /** Files sharing a few small bodies, 1,000 per folder under /Records. */
  driveItems?: number;
  /** Files of the ordinary drive (varied kinds and sizes); past 10,000 small text files under /Files. */
  files?: number;
  /** Users of the tenant, the subject first; colleagues open some of each other's files. */
  users?: number;
  seed?: string;
  now?: Date;
}

export interface HeavySubject {
  tenantId: string;
  user: SeededUser;
  /** The subject as the export fixtures name a user (`queueExport`). */
  subject: FixtureUser;
}

/**
 * One user with as many records as asked, loaded fast (COPY) by the same code as
 * `dsr-export seed --sign-ins N --drive-events N --drive-items N`: for export tests at scale.
 * Records total = user.signIns + user.driveActivities + user.files + user.folders.
 */
export async function seedHeavySubject(db: Db, contentStore: ContentStore, req: HeavySubjectRequest): Promise<HeavySubject> {
  const summary = await seedTenant({
    db,
    contentStore,
    users: req.users ?? 1,
    filesPerUser: req.files ?? 5,
    seed: req.seed ?? `heavy-${Date.now()}-${Math.random()}`,
    now: req.now ?? new Date(),
    heavy: { signIns: req.signIns ?? 0, driveEvents: req.driveEvents ?? 0, driveItems: req.driveItems ?? 0 },
  });
  const user = summary.users[0]!;
  return { tenantId: summary.tenantId, user, subject: { tenantId: summary.tenantId, userId: user.id, upn: user.userPrincipalName, itemIds: new Map() } };
}
