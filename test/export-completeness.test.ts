import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../src/db/pool.ts';
import { NOT_EXPORTED } from '../src/export/sections/exclusions.ts';
import { SECTIONS } from '../src/export/sections/index.ts';
import { createTestDatabase } from './support/harness.ts';

// Every table that holds a reference to a user is either exported by a section of the package or
// excluded on purpose, with the reason written next to it (src/export/sections/exclusions.ts). A
// new table with a user column fails here until someone decides which.

let db: Db;

beforeAll(async () => {
  ({ db } = await createTestDatabase());
});

afterAll(async () => {
  await db?.end();
});

/**
 * Tables with a column that names a user (…user_id, …user_principal_name) or a foreign key to
 * users. Identity sets (created_by jsonb …) sit in tables that also have such a column.
 */
async function tablesWithUserReferences(): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `select distinct c.table_name from information_schema.columns c
     join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
     where c.table_schema = current_schema() and c.table_name <> 'users'
       and c.column_name ~ '(^|_)(user_id|user_principal_name|upn)$'
     union
     select distinct kcu.table_name from information_schema.referential_constraints rc
     join information_schema.key_column_usage kcu on kcu.constraint_name = rc.constraint_name and kcu.constraint_schema = rc.constraint_schema
     join information_schema.constraint_column_usage ccu on ccu.constraint_name = rc.unique_constraint_name and ccu.constraint_schema = rc.unique_constraint_schema
     where kcu.table_schema = current_schema() and ccu.table_name = 'users'
     order by 1`,
  );
  return rows.map((r) => r.table_name);
}

test('every table with a user reference is exported by a section or excluded with a reason', async () => {
  const tables = await tablesWithUserReferences();
  // The query finds what it should (a control: these hold user references for sure).
  expect(tables).toEqual(expect.arrayContaining(['sign_ins', 'drive_items', 'drive_activities', 'directory_audits', 'data_policy_operations']));
  const exported = new Set(SECTIONS.flatMap((s) => s.tables));
  const unaccounted = tables.filter((t) => !exported.has(t) && !(t in NOT_EXPORTED));
  expect(unaccounted, `tables with user references that no section exports and exclusions.ts does not name: ${unaccounted.join(', ')}`).toEqual([]);
  // An exclusion says why, and names a table that exists and is not exported anyway.
  for (const [table, reason] of Object.entries(NOT_EXPORTED)) {
    expect(reason.length, table).toBeGreaterThan(20);
    expect(exported.has(table), `${table} is both exported and excluded`).toBe(false);
  }
  const { rows } = await db.query<{ table_name: string }>(
    `select table_name from information_schema.tables where table_schema = current_schema() and table_name = any($1)`,
    [Object.keys(NOT_EXPORTED)],
  );
  expect(rows.map((r) => r.table_name).sort()).toEqual(Object.keys(NOT_EXPORTED).sort());
  // And the users table itself is the User section's.
  expect(exported.has('users')).toBe(true);
});
