import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSignInLine } from '../src/domain/sign-in.ts';
import type { ContentStore } from '../src/content/content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { createPrng } from '../src/seed/prng.ts';
import { seedTenant, type SeedSummary } from '../src/seed/seed-tenant.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

const NOW = new Date('2026-11-28T12:00:00Z');
const DAY = 86_400_000;
let dbA: Db;
let dbB: Db;
let storeA: ContentStore;
let storeB: ContentStore;
let first: SeedSummary;

/** Every row the seed wrote for the tenant, in a stable order. */
async function dump(db: Db, tenantId: string) {
  const q = async (sql: string): Promise<unknown[]> => (await db.query(sql, [tenantId])).rows;
  return {
    users: await q('select * from users where tenant_id = $1 order by id'),
    driveItems: await q('select * from drive_items where tenant_id = $1 order by id'),
    driveActivities: await q('select * from drive_activities where tenant_id = $1 order by id'),
    signIns: await q('select * from sign_ins where tenant_id = $1 order by id'),
    audits: await q('select * from directory_audits where tenant_id = $1 order by id'),
    blobs: await q(`select sha256, size from content_blobs where sha256 in
                    (select content_sha256 from drive_items where tenant_id = $1) order by sha256`),
  };
}

async function sha256Of(store: ContentStore, sha: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await store.get(sha)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(async () => {
  ({ db: dbA } = await createTestDatabase());
  ({ db: dbB } = await createTestDatabase());
  storeA = createLocalContentStore(await tempDir('dsr-seed-a-'));
  storeB = createLocalContentStore(await tempDir('dsr-seed-b-'));
  first = await seedTenant({ db: dbA, contentStore: storeA, users: 4, filesPerUser: 12, seed: 42, now: NOW });
});

afterAll(async () => {
  await dbA.end();
  await dbB.end();
});

describe('seedTenant', () => {
  it('is deterministic: the same seed into another database gives identical rows and content', async () => {
    const second = await seedTenant({ db: dbB, contentStore: storeB, users: 4, filesPerUser: 12, seed: 42, now: NOW });
    expect(second).toEqual(first);
    const a = await dump(dbA, first.tenantId);
    const b = await dump(dbB, second.tenantId);
    expect(b).toEqual(a);
    expect(a.users).toHaveLength(4);
    expect(a.driveItems.filter((i) => !(i as { is_folder: boolean }).is_folder)).toHaveLength(48);
    for (const { sha256 } of a.blobs as { sha256: string }[]) {
      expect(await sha256Of(storeB, sha256)).toBe(sha256);
    }
  });

  it('differs for another seed, and keeps a given tenant id', async () => {
    const tenantId = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
    const other = await seedTenant({ db: dbA, contentStore: storeA, tenantId: tenantId.toUpperCase(), users: 4, filesPerUser: 12, seed: 43, now: NOW });
    expect(other.tenantId).toBe(tenantId);
    const ids = new Set(first.users.map((u) => u.id));
    expect(other.users.some((u) => ids.has(u.id))).toBe(false);
    const hashesA = new Set((await dump(dbA, first.tenantId)).blobs.map((b) => (b as { sha256: string }).sha256));
    const hashesB = (await dump(dbA, tenantId)).blobs.map((b) => (b as { sha256: string }).sha256);
    expect(hashesB.filter((h) => hashesA.has(h))).toEqual([]);
    // Same seed, explicit tenant: same users under another tenant id.
    const again = await seedTenant({ db: dbB, contentStore: storeB, tenantId, users: 2, filesPerUser: 1, seed: 42, now: NOW });
    expect(again.users.map((u) => u.id)).toEqual(first.users.slice(0, 2).map((u) => u.id));
  });

  it('refuses a tenant that already has users', async () => {
    await expect(seedTenant({ db: dbA, contentStore: storeA, users: 1, filesPerUser: 0, seed: 42, now: NOW })).rejects.toThrow(/already has users/);
    await expect(seedTenant({ db: dbA, contentStore: storeA, users: -1, filesPerUser: 0, seed: 1, now: NOW })).rejects.toThrow(/users/);
  });

  it('builds a realistic tenant: profiles, folder tree, varied files, activity and sign-ins in the last 90 days', async () => {
    const rows = await dump(dbA, first.tenantId);
    const users = rows.users as { user_principal_name: string; display_name: string; job_title: string; department: string; created_at: Date }[];
    for (const u of users) {
      expect(u.user_principal_name).toMatch(/^[a-z0-9]+\.[a-z0-9]+\d*@[a-z]+\.example$/);
      expect(u.display_name).toMatch(/^\S+ \S+$/);
      expect(u.job_title).toBeTruthy();
      expect(u.department).toBeTruthy();
      expect(u.created_at.getTime()).toBeLessThan(NOW.getTime() - 90 * DAY);
    }
    const items = rows.driveItems as {
      id: string;
      parent_id: string | null;
      name: string;
      is_folder: boolean;
      size: number;
      mime_type: string | null;
      content_sha256: string | null;
      owner_user_id: string;
    }[];
    const byId = new Map(items.map((i) => [i.id, i]));
    const pathOf = (i: (typeof items)[number]): string => (i.parent_id ? `${pathOf(byId.get(i.parent_id)!)}/${i.name}` : '');
    const folders = items.filter((i) => i.is_folder).map(pathOf);
    expect(folders).toEqual(expect.arrayContaining(['', '/Documents', '/Pictures', '/Projects']));
    expect(folders.some((f) => /^\/Projects\/[^/]+$/.test(f))).toBe(true);
    const files = items.filter((i) => !i.is_folder);
    const extensions = new Set(files.map((f) => f.name.split('.').pop()));
    expect(extensions.size).toBeGreaterThanOrEqual(5);
    const sizes = files.map((f) => f.size);
    expect(Math.min(...sizes)).toBeLessThan(2048);
    expect(Math.max(...sizes)).toBeGreaterThan(512 * 1024);
    for (const f of files.filter((x) => x.name.endsWith('.png'))) expect(pathOf(f)).toMatch(/^\/Pictures\//);
    for (const owner of first.users) {
      const own = files.filter((f) => f.owner_user_id === owner.id);
      expect(own.reduce((sum, f) => sum + f.size, 0)).toBe(owner.bytes);
      expect(own).toHaveLength(owner.files);
    }
    // Bodies: well-formed for their type.
    const body = async (name: RegExp) => {
      const f = files.find((x) => name.test(x.name))!;
      const chunks: Buffer[] = [];
      for await (const c of await storeA.get(f.content_sha256!)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    expect((await body(/\.png$/)).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect((await body(/\.pdf$/)).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(JSON.parse((await body(/\.json$/)).toString('utf8')).items.length).toBeGreaterThan(0);
    expect((await body(/\.csv$/)).toString('utf8')).toMatch(/^Date,Region,Product,Units,UnitPrice,Total,Notes\r\n(.*\r\n)+$/);

    const activities = rows.driveActivities as {
      activity_type: string;
      activity_at: Date;
      client_ip: string;
      user_agent: string;
      app_id: string;
      item_path: string;
    }[];
    expect(new Set(activities.map((a) => a.activity_type))).toEqual(
      new Set(['FolderCreated', 'FileUploaded', 'FileModified', 'FileAccessed', 'FileDownloaded']),
    );
    for (const a of activities) {
      expect(a.activity_at.getTime()).toBeGreaterThanOrEqual(NOW.getTime() - 90 * DAY);
      expect(a.activity_at.getTime()).toBeLessThan(NOW.getTime());
      expect(a.client_ip).toMatch(/^(203\.0\.113\.|198\.51\.100\.|192\.0\.2\.|2001:db8:)/);
      expect(a.user_agent).toBeTruthy();
      expect(a.item_path).toMatch(/^\//);
    }
    const signIns = rows.signIns as { created_at: Date; data: Record<string, unknown> }[];
    expect(signIns.length).toBeGreaterThan(4 * 50);
    for (const s of signIns) {
      expect(s.created_at.getTime()).toBeGreaterThanOrEqual(NOW.getTime() - 90 * DAY);
      expect(s.created_at.getTime()).toBeLessThan(NOW.getTime());
      // What the seed writes is what import-activity accepts.
      expect(typeof parseSignInLine(JSON.stringify(s.data))).toBe('object');
    }
    expect(signIns.some((s) => (s.data.status as { errorCode: number }).errorCode !== 0)).toBe(true);
    expect(rows.audits).toHaveLength(4);
  });

  it('seeds 20 users × 30 files, each user with a distinct UPN', async () => {
    const { db } = await createTestDatabase();
    try {
      const started = performance.now();
      const summary = await seedTenant({
        db,
        contentStore: createLocalContentStore(await tempDir('dsr-seed-big-')),
        users: 20,
        filesPerUser: 30,
        seed: 'speed',
        now: NOW,
      });
      const seconds = (performance.now() - started) / 1000;
      expect(summary.totals.files).toBe(600);
      expect(summary.totals.users).toBe(20);
      expect(new Set(summary.users.map((u) => u.userPrincipalName)).size).toBe(20);
      console.log(
        `seed 20×30: ${seconds.toFixed(2)} s, ${(summary.totals.bytes / 2 ** 20).toFixed(1)} MiB, ${summary.totals.driveActivities} activities, ${summary.totals.signIns} sign-ins`,
      );
    } finally {
      await db.end();
    }
  });
});

describe('createPrng', () => {
  it('is stable across runs and forks independently', () => {
    const a = createPrng('x');
    expect([a.uint32(), a.uint32()]).toEqual([
      createPrng('x').uint32(),
      (() => {
        const p = createPrng('x');
        p.uint32();
        return p.uint32();
      })(),
    ]);
    expect(createPrng('x').uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const parent = createPrng('y');
    const before = parent.fork('f').uint32();
    parent.uint32();
    expect(parent.fork('f').uint32()).toBe(before);
    const odd = Buffer.alloc(7);
    expect(createPrng('z').fill(odd)).toEqual(createPrng('z').fill(Buffer.alloc(7)));
  });
});
