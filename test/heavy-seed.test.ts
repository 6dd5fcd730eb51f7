import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, type Db } from '../src/db/pool.ts';
import { DEVICE_PROFILES, OFFICES } from '../src/seed/catalog.ts';
import { loadHeavySubject } from '../src/seed/heavy-subject.ts';
import { createPrng } from '../src/seed/prng.ts';
import { createTestApp, createTestDatabase, type TestApp } from './support/harness.ts';
import { seedHeavySubject } from './support/heavy-seed.ts';

// The heavy subject of `seed --sign-ins/--drive-events/--drive-items`, and what it is for: bulk
// writes at a size where one bind parameter per value no longer fits (a folder of 10,000 items).

const NOW = new Date('2026-11-28T12:00:00Z');
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

async function count(db: Db, sql: string, params: unknown[]): Promise<number> {
  return Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);
}

/** A digest of every row of the subject, to compare two loads. */
async function digest(db: Db, userId: string): Promise<string[]> {
  const one = async (sql: string) => (await db.query<{ d: string }>(sql, [userId])).rows[0]!.d;
  return [
    await one(`select md5(string_agg(s::text, ',' order by id)) as d from sign_ins s where user_id = $1`),
    await one(`select md5(string_agg(a::text, ',' order by id)) as d from drive_activities a where user_id = $1`),
    await one(`select md5(string_agg(i::text, ',' order by id)) as d from drive_items i where owner_user_id = $1`),
  ];
}

describe('heavy subject', () => {
  it('loads exactly the records asked, deterministically, as realistic rows', async () => {
    const req = { signIns: 3000, driveEvents: 2000, driveItems: 1500, seed: 'heavy-determinism', now: NOW };
    const a = await seedHeavySubject(t.db, t.deps.contentStore, req);
    const other = await createTestDatabase();
    try {
      const b = await seedHeavySubject(other.db, t.deps.contentStore, req);
      expect(b).toEqual(a);
      expect(await digest(other.db, b.user.id)).toEqual(await digest(t.db, a.user.id));
    } finally {
      await other.db.end();
    }
    const u = a.user;
    expect(await count(t.db, 'select count(*) as n from sign_ins where user_id = $1', [u.id])).toBe(u.signIns);
    expect(u.signIns).toBeGreaterThan(3000);
    expect(await count(t.db, 'select count(*) as n from drive_activities where user_id = $1', [u.id])).toBe(u.driveActivities);
    expect(await count(t.db, 'select count(*) as n from drive_items where owner_user_id = $1 and not is_folder', [u.id])).toBe(u.files);
    expect(await count(t.db, 'select count(*) as n from drive_items where owner_user_id = $1 and is_folder', [u.id])).toBe(u.folders);
    // Records live in folders of 1,000 under /Records; events name real items; dates span years.
    expect(await count(t.db, `select count(*) as n from drive_items where owner_user_id = $1 and name like 'Batch %'`, [u.id])).toBe(2);
    expect(
      await count(
        t.db,
        `select count(*) as n from drive_activities a where user_id = $1 and item_id is not null
      and not exists (select 1 from drive_items i where i.tenant_id = a.tenant_id and i.id = a.item_id)`,
        [u.id],
      ),
    ).toBe(0);
    const span = await t.db.query<{ first: Date; last: Date }>('select min(created_at) as first, max(created_at) as last from sign_ins where user_id = $1', [
      u.id,
    ]);
    expect(span.rows[0]!.last.getTime() - span.rows[0]!.first.getTime()).toBeGreaterThan(2 * 365 * 86_400_000);
    expect(span.rows[0]!.last.getTime()).toBeLessThan(NOW.getTime());
    // The JSON of a sign-in survives COPY's escaping (user agents and names hold backslashes and quotes).
    const sample = await t.db.query<{ data: { userId: string; status: { errorCode: number } } }>('select data from sign_ins where user_id = $1 limit 50', [
      u.id,
    ]);
    for (const r of sample.rows) expect(r.data.userId).toBe(u.id);
  });

  it('files past the ordinary 10,000 get bodies of their own in the content store', async () => {
    const { tenantId, user } = await seedHeavySubject(t.db, t.deps.contentStore, { seed: 'heavy-files', now: NOW, files: 1 });
    const root = (await t.db.query<{ id: string }>('select id from drive_items where owner_user_id = $1 and parent_id is null', [user.id])).rows[0]!;
    const office = OFFICES[0]!;
    const person = {
      id: user.id,
      givenName: 'Heavy',
      displayName: user.displayName,
      userPrincipalName: user.userPrincipalName,
      office,
      officeIndex: 0,
      homeIp: '198.51.100.7',
      desktop: DEVICE_PROFILES[0]!,
      mobile: DEVICE_PROFILES[4]!,
      deviceId: user.id,
    };
    const loaded = await inTransaction(t.db, (tx) =>
      loadHeavySubject(tx, {
        tenantId,
        person,
        rootId: root.id,
        items: [],
        prng: createPrng('files'),
        now: NOW.getTime(),
        contentStore: t.deps.contentStore,
        counts: { signIns: 0, driveEvents: 0, driveItems: 0, files: 1200 },
      }),
    );
    expect(loaded).toMatchObject({ files: 1200, folders: 3 });
    const files = await t.db.query<{ content_sha256: string; size: number }>(
      `select content_sha256, size from drive_items where owner_user_id = $1 and name like 'File %'`,
      [user.id],
    );
    expect(files.rowCount).toBe(1200);
    expect(new Set(files.rows.map((f) => f.content_sha256)).size).toBe(1200);
    expect(files.rows.reduce((a, f) => a + Number(f.size), 0)).toBe(loaded.bytes);
    const stored = files.rows[7]!;
    const chunks: Buffer[] = [];
    for await (const c of await t.deps.contentStore.get(stored.content_sha256)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).length).toBe(Number(stored.size));
  });

  it('a folder of 10,000 items is deleted through the API, every item recorded as FileDeleted', async () => {
    const { tenantId, user } = await seedHeavySubject(t.db, t.deps.contentStore, { seed: 'heavy-delete', now: NOW, files: 1, driveItems: 10_000 });
    const token = await t.appToken(tenantId, ['Files.ReadWrite.All']);
    const records = (await t.db.query<{ id: string }>(`select id from drive_items where owner_user_id = $1 and name = 'Records'`, [user.id])).rows[0]!;
    const before = await count(t.db, `select count(*) as n from drive_activities where user_id = $1 and activity_type = 'FileDeleted'`, [user.id]);
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1.0/users/${user.id}/drive/items/${records.id}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode, res.body).toBe(204);
    // 10,000 files, 10 batch folders and Records itself.
    expect((await count(t.db, `select count(*) as n from drive_activities where user_id = $1 and activity_type = 'FileDeleted'`, [user.id])) - before).toBe(
      10_011,
    );
    expect(
      await count(t.db, `select count(*) as n from drive_items where owner_user_id = $1 and (name like 'Record %' or name like 'Batch %')`, [user.id]),
    ).toBe(0);
    const deleted = await t.db.query<{ item_path: string }>(
      `select item_path from drive_activities where user_id = $1 and activity_type = 'FileDeleted' and item_path like '%Record 0010000.txt'`,
      [user.id],
    );
    expect(deleted.rows.map((r) => r.item_path)).toEqual(['/Records/Batch 0010/Record 0010000.txt']);
  });
});
