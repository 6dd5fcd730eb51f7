import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importActivity } from '../src/activity/import-activity.ts';
import { splitLines } from '../src/activity/read-lines.ts';
import type { Db } from '../src/db/pool.ts';
import { insertUser } from '../src/db/queries/users.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

let db: Db;
let dir: string;
const tenant = randomUUID();
const otherTenant = randomUUID();
const alice = randomUUID();
const bob = randomUUID();
const stranger = randomUUID();

function signIn(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: randomUUID(),
    createdDateTime: '2026-11-20T08:15:30Z',
    userDisplayName: 'Alice Example',
    userPrincipalName: 'alice@contoso.test',
    userId: alice,
    appId: 'd3590ed6-52b3-4102-aeff-aad2292ab01c',
    appDisplayName: 'Microsoft Office',
    ipAddress: '203.0.113.7',
    clientAppUsed: 'Browser',
    status: { errorCode: 0, failureReason: 'Other.', additionalDetails: null },
    location: { city: 'Seattle', state: 'Washington', countryOrRegion: 'US' },
    deviceDetail: { operatingSystem: 'Windows 10', browser: 'Edge 120.0.0' },
    ...overrides,
  };
}

const jsonl = (records: unknown[]): string[] => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));

async function countSignIns(tenantId = tenant): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from sign_ins where tenant_id = $1', [tenantId]);
  return rows[0]!.n;
}

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  dir = await tempDir('dsr-import-');
  const now = new Date('2026-11-01T00:00:00Z');
  await insertUser(db, tenant, alice, { user_principal_name: 'alice@contoso.test', display_name: 'Alice Example' }, now);
  await insertUser(db, tenant, bob, { user_principal_name: 'Bob@Contoso.test', display_name: 'Bob Example' }, now);
  await insertUser(db, otherTenant, stranger, { user_principal_name: 'eve@fabrikam.test' }, now);
});

afterAll(async () => {
  await db.end();
});

describe('importActivity', () => {
  it('loads a valid file, resolving users by id or by UPN (case-insensitive), and normalises the record', async () => {
    const byUpn = signIn({ userId: undefined, userPrincipalName: 'BOB@contoso.TEST', createdDateTime: '2026-11-21T10:00:00.1234567+02:00' });
    const file = path.join(dir, 'good.jsonl');
    await writeFile(file, `\uFEFF${jsonl([signIn(), byUpn, { ...signIn(), '@odata.type': '#microsoft.graph.signIn' }]).join('\r\n')}\n\n`);
    const summary = await importActivity(db, tenant, file);
    expect(summary).toEqual({ read: 3, valid: 3, imported: 3, duplicates: 0, skipped: 0, committed: true, errors: [], errorCount: 0 });
    const { rows } = await db.query('select user_id, created_at, data from sign_ins where tenant_id = $1 and id = $2', [tenant, byUpn.id]);
    expect(rows[0].user_id).toBe(bob);
    expect(rows[0].created_at.toISOString()).toBe('2026-11-21T08:00:00.123Z');
    expect(rows[0].data).toMatchObject({ userId: bob, createdDateTime: '2026-11-21T08:00:00.123Z', userPrincipalName: 'BOB@contoso.TEST' });
    const { rows: annotated } = await db.query(`select data from sign_ins where tenant_id = $1 and data ? '@odata.type'`, [tenant]);
    expect(annotated).toHaveLength(0);
  });

  it('reports every bad line with its line number and loads nothing', async () => {
    const before = await countSignIns();
    const good = signIn();
    const lines = jsonl([
      good, // 1
      '{"id": "not json"', // 2
      signIn({ id: 'nope' }), // 3
      '', // 4 blank: ignored
      signIn({ createdDateTime: '2026-02-30T10:00:00Z' }), // 5 no such day
      signIn({ createdDateTime: '2026-11-20 08:15:30' }), // 6 no offset
      signIn({ userId: stranger, userPrincipalName: undefined }), // 7 another tenant's user
      signIn({ userId: undefined, userPrincipalName: 'ghost@contoso.test' }), // 8
      signIn({ userId: undefined, userPrincipalName: undefined }), // 9
      signIn({ status: 'failed' }), // 10
      '[1,2]', // 11
      signIn(), // 12
    ]);
    // A batch of 3 makes user checks and syntax checks interleave across batches.
    const summary = await importActivity(db, tenant, lines, { batchSize: 3 });
    expect(summary.committed).toBe(false);
    expect(summary.imported).toBe(0);
    expect(summary.read).toBe(11);
    expect(summary.valid).toBe(2);
    expect(summary.errorCount).toBe(9);
    expect(summary.errors.map((e) => e.line)).toEqual([2, 3, 5, 6, 7, 8, 9, 10, 11]);
    expect(summary.errors.find((e) => e.line === 7)!.message).toMatch(/not a user of tenant/);
    expect(summary.errors.find((e) => e.line === 5)!.message).toMatch(/createdDateTime/);
    expect(summary.errors.find((e) => e.line === 9)!.message).toMatch(/userId or userPrincipalName is required/);
    expect(await countSignIns()).toBe(before);
    const { rows } = await db.query('select 1 from sign_ins where tenant_id = $1 and id = $2', [tenant, good.id]);
    expect(rows).toHaveLength(0);
  });

  it('with skipInvalid loads the good lines and reports the skipped ones', async () => {
    const before = await countSignIns();
    const lines = jsonl([signIn(), 'garbage', signIn({ userId: stranger }), signIn({ userId: bob, userPrincipalName: 'bob@contoso.test' })]);
    const summary = await importActivity(db, tenant, Readable.from([lines.join('\n')]), { skipInvalid: true });
    expect(summary).toMatchObject({ read: 4, valid: 2, imported: 2, duplicates: 0, skipped: 2, committed: true, errorCount: 2 });
    expect(summary.errors.map((e) => e.line)).toEqual([2, 3]);
    expect(await countSignIns()).toBe(before + 2);
  });

  it('is idempotent: a re-import (and a repeated line) inserts nothing twice and reports duplicates', async () => {
    const records = [signIn(), signIn({ userId: bob })];
    const file = path.join(dir, 'dup.jsonl');
    await writeFile(file, `${jsonl([...records, records[0]]).join('\n')}\n`);
    const first = await importActivity(db, tenant, file);
    expect(first).toMatchObject({ read: 3, imported: 2, duplicates: 1, committed: true });
    const second = await importActivity(db, tenant, file);
    expect(second).toMatchObject({ read: 3, imported: 0, duplicates: 3, committed: true });
    const { rows } = await db.query('select count(*)::int as n from sign_ins where tenant_id = $1 and id = any($2)', [tenant, records.map((r) => r.id)]);
    expect(rows[0].n).toBe(2);
  });

  it('keeps tenants apart: the same ids can be imported into another tenant only for its own users', async () => {
    const record = signIn({ userId: stranger, userPrincipalName: 'eve@fabrikam.test' });
    const summary = await importActivity(db, otherTenant, jsonl([record]));
    expect(summary).toMatchObject({ imported: 1, committed: true });
    expect(await countSignIns(otherTenant)).toBe(1);
  });

  it('streams a large file in batches', async () => {
    const file = path.join(dir, 'large.jsonl');
    const n = 5000;
    const start = Date.parse('2026-10-01T00:00:00Z');
    const text = Array.from({ length: n }, (_, i) =>
      JSON.stringify(
        signIn({
          userId: i % 2 ? alice : bob,
          createdDateTime: new Date(start + i * 60_000).toISOString(),
        }),
      ),
    ).join('\n');
    await writeFile(file, text);
    const summary = await importActivity(db, tenant, file, { batchSize: 700 });
    expect(summary).toMatchObject({ read: n, valid: n, imported: n, committed: true, errorCount: 0 });
  });

  it('refuses a line longer than the limit without holding it', async () => {
    const summary = await importActivity(db, tenant, Readable.from([Buffer.from(`${JSON.stringify(signIn())}\n${'x'.repeat(5000)}`)]), {
      maxLineLength: 2000,
    });
    expect(summary.errors).toEqual([{ line: 2, message: 'line is longer than 2000 characters' }]);
    expect(summary.committed).toBe(false);
  });
});

describe('splitLines', () => {
  it('keeps multi-byte characters split across chunks and numbers lines from 1', async () => {
    const bytes = Buffer.from('ä€\n\nlast', 'utf8');
    const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)];
    const out = [];
    for await (const l of splitLines(Readable.from(chunks), 100)) out.push(l);
    expect(out).toEqual([
      { number: 1, text: 'ä€', tooLong: false },
      { number: 2, text: '', tooLong: false },
      { number: 3, text: 'last', tooLong: false },
    ]);
  });
});
