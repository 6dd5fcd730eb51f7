import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { createDrivePlacementTable, emptyDrivePlacementTable } from '../src/db/queries/worker-sources.ts';
import { placeDriveItems } from '../src/domain/package-plan.ts';
import { placeDrive } from '../src/export/sections/drive-placements.ts';
import type { RenderContext } from '../src/export/sections/section.ts';
import { seedUser } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

let db: Db;

beforeAll(async () => {
  ({ db } = await createTestDatabase());
});

afterAll(async () => {
  await db?.end();
});

test('the drive is placed in the database, folder by folder, exactly as placeDriveItems places it', async () => {
  const store = createLocalContentStore(await tempDir('dsr-placements-'));
  const user = await seedUser(db, store, { files: [{ path: 'Docs/seed.txt', body: Buffer.from('x') }] });
  const docs = user.itemIds.get('Docs')!;
  const {
    rows: [seed],
  } = await db.query<{ content_sha256: string }>('select content_sha256 from drive_items where id = $1', [user.itemIds.get('Docs/seed.txt')]);
  // More files in one folder than a cursor batch (2000) or an insert batch (1000); three names
  // of each number become the same blob-safe name, and "n1_x (2).txt" is already taken.
  await db.query(
    `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, content_sha256, created_at, modified_at, created_by, modified_by)
     select $1::uuid, gen_random_uuid(), $2::uuid, $3::uuid, 'n' || (i % 700) || (array[':x.txt', '_x.txt', '?x.txt'])[i / 700 + 1], false, 1, $4, now(), now(), '{}'::jsonb, '{}'::jsonb
     from generate_series(0, 2099) i
     union all select $1::uuid, gen_random_uuid(), $2::uuid, $3::uuid, 'n1_x (2).txt', false, 1, $4, now(), now(), '{}'::jsonb, '{}'::jsonb`,
    [user.tenantId, user.userId, docs, seed!.content_sha256],
  );
  // Nested folders whose names collide, and a subtree too deep for the blob-name limit.
  let parent = docs;
  for (const [i, name] of ['S:1', 'S_1', 'd'.repeat(60), 'e'.repeat(60), 'f'].entries()) {
    const {
      rows: [folder],
    } = await db.query<{ id: string }>(
      `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, created_at, modified_at, created_by, modified_by)
       values ($1, gen_random_uuid(), $2, $3, $4, true, now(), now(), '{}'::jsonb, '{}'::jsonb) returning id`,
      [user.tenantId, user.userId, i < 2 ? docs : parent, name],
    );
    await db.query(
      `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, content_sha256, created_at, modified_at, created_by, modified_by)
       values ($1, gen_random_uuid(), $2, $3, 'leaf.txt', false, 1, $4, now(), now(), '{}'::jsonb, '{}'::jsonb)`,
      [user.tenantId, user.userId, folder!.id, seed!.content_sha256],
    );
    if (i >= 1) parent = folder!.id;
  }

  const maxPathLength = 120;
  const client = await db.connect();
  const placed = new Map<string, { drivePath: string; packagePath: string }>();
  try {
    await createDrivePlacementTable(client);
    await client.query('begin isolation level repeatable read read only');
    const ctx = { q: client, operation: { tenantId: user.tenantId, userId: user.userId }, maxPathLength } as unknown as RenderContext;
    await placeDrive(ctx);
    const { rows } = await client.query<{ id: string; drive_path: string; package_path: string }>(
      'select id, drive_path, package_path from export_drive_placements',
    );
    for (const r of rows) placed.set(r.id, { drivePath: r.drive_path, packagePath: r.package_path });
    await client.query('commit');
    // The pooled connection keeps its table for the next export, but nothing of this one.
    await emptyDrivePlacementTable(client);
    expect((await client.query('select count(*)::int as n from export_drive_placements')).rows[0]).toEqual({ n: 0 });
  } finally {
    client.release();
  }

  const { rows: nodes } = await db.query<{ id: string; parent_id: string | null; name: string; is_folder: boolean }>(
    'select id, parent_id, name, is_folder from drive_items where tenant_id = $1 and owner_user_id = $2',
    [user.tenantId, user.userId],
  );
  const expected = placeDriveItems(
    nodes.map((n) => ({ id: n.id, parentId: n.parent_id, name: n.name, isFolder: n.is_folder })),
    maxPathLength,
  );
  expect(placed.size).toBe(nodes.length);
  expect(placed).toEqual(expected);
  const paths = [...placed.values()].map((p) => p.packagePath);
  expect(new Set(paths).size).toBe(paths.length);
  expect(paths).toContain('OneDrive/Files/Docs/n1_x (3).txt');
  expect(paths).toContain('OneDrive/Files/Docs/S_1 (2)/leaf.txt');
  expect(paths.some((p) => p.startsWith('OneDrive/Files/_long-paths/') && p.endsWith('-f/leaf.txt'))).toBe(true);
});
