import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../src/db/pool.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { to as copyTo } from 'pg-copy-streams';
import {
  activityCsvCopy,
  activityJsonCopy,
  firstActivityTexts,
  firstSignInTexts,
  signInCsvCopy,
  signInJsonCopy,
} from '../src/db/queries/worker-record-texts.ts';
import { csvLine } from '../src/domain/package-plan.ts';
import { copyTextLines } from '../src/export/sections/rendered-records.ts';
import { toGraphSignIn } from '../src/domain/sign-in.ts';
import { pick } from '../src/export/sections/records.ts';
import { seedTenant } from '../src/seed/seed-tenant.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
import {
  activityCsvRow,
  activityJson,
  driveActivitiesByActorElsewhere,
  driveActivitiesOfUser,
  redactActivity,
  signInsOfUser,
} from './support/record-references.ts';

// The large sections are rendered by PostgreSQL (worker-record-texts.ts). Their records must be
// what the JavaScript reference (support/record-references.ts, toGraphSignIn) makes of the same rows: same keys in the same order, same values,
// other actors redacted the same way. Checked on a seeded tenant plus rows at the edges (extra
// imported properties, sub-second times, formula text, application actors, an actor id in
// capitals, a colleague's drive).

let db: Db;
let tenantId: string;
let users: string[];

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  const summary = await seedTenant({
    db,
    contentStore: createLocalContentStore(await tempDir('dsr-record-texts-')),
    users: 3,
    filesPerUser: 3,
    seed: 7,
    now: new Date('2026-11-01T00:00:00Z'),
    heavy: { signIns: 300, driveEvents: 300, driveItems: 0 },
  });
  tenantId = summary.tenantId;
  users = summary.users.map((u) => u.id);
  const [subject, colleague] = users as [string, string];
  await db.query(
    `insert into sign_ins (tenant_id, id, user_id, created_at, data) values
       ($1, 'a0000000-0000-4000-8000-000000000001', $2, '2026-10-01T10:00:00.123456Z',
        '{"zeta": [1, {"b": 2, "a": "x"}], "appDisplayName": "=HYPERLINK(\\"x\\")", "id": "ignored", "status": {"errorCode": -1, "failureReason": "+1,\\"2\\"\\r\\nline"}, "a": null, "ipAddress": "@evil"}'),
       ($1, 'a0000000-0000-4000-8000-000000000002', $2, '2026-10-01T10:00:00Z', '{}')`,
    [tenantId, subject],
  );
  await db.query(
    `insert into drive_activities (tenant_id, id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id) values
       ($1, 'b0000000-0000-4000-8000-000000000001', $2::uuid, '2026-10-02T00:00:00.5Z', 'FileAccessed', jsonb_build_object('user', jsonb_build_object('id', upper($2::text), 'displayName', '-me')), null, '/a,b', '10.0.0.1', '=cmd', null),
       ($1, 'b0000000-0000-4000-8000-000000000002', $2::uuid, '2026-10-02T00:00:01Z', 'FileModified', '{"application": {"id": "app-1", "displayName": "Sync"}}', null, null, '10.0.0.2', 'agent', 'app-1'),
       ($1, 'b0000000-0000-4000-8000-000000000003', $3::uuid, '2026-10-02T00:00:02Z', 'FileModified', jsonb_build_object('user', jsonb_build_object('id', $2::text, 'userPrincipalName', 'me@x')), null, '/theirs', '10.0.0.3', 'ua', null),
       ($1, 'b0000000-0000-4000-8000-000000000004', $2::uuid, '2026-10-02T00:00:03Z', 'FileDeleted', jsonb_build_object('user', jsonb_build_object('id', $3::text)), null, '/mine', '10.0.0.4', 'theirs', null)`,
    [tenantId, subject, colleague],
  );
});

afterAll(async () => {
  await db?.end();
});

async function all<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

/** A COPY's output as text, through the reader the export uses. */
async function copied(sql: string): Promise<string> {
  const client = await db.connect();
  try {
    let text = '';
    for await (const piece of copyTextLines(client.query(copyTo(sql)))) text += piece;
    return text;
  } finally {
    client.release();
  }
}

/** The records of a JSON file's value lines ("    record,\n" each). */
async function copiedRecords(sql: string): Promise<Record<string, unknown>[]> {
  const text = await copied(sql);
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      expect(line.startsWith('    ') && line.endsWith(',')).toBe(true);
      return JSON.parse(line.slice(4, -1)) as Record<string, unknown>;
    });
}

const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;

const SIGN_IN_COLUMNS = ['id', 'createdDateTime', 'appDisplayName', 'ipAddress', 'isInteractive', 'status.errorCode', 'status.failureReason', 'location.city'];

test('sign-ins rendered by PostgreSQL are the records toGraphSignIn gives and the CSV lines csvLine writes of pick', async () => {
  for (const userId of users) {
    const rows = await all(signInsOfUser(db, tenantId, userId));
    const expected = rows.map((row) => roundTrip(toGraphSignIn(row)));
    const records = await copiedRecords(signInJsonCopy(tenantId, userId));
    expect(records.map((r) => Object.keys(r))).toEqual(expected.map((r) => Object.keys(r)));
    expect(records).toEqual(expected);
    expect((await firstSignInTexts(db, tenantId, userId, 5)).map((r) => JSON.parse(r.json) as unknown)).toEqual(expected.slice(0, 5));
    expect(await copied(signInCsvCopy(tenantId, userId, SIGN_IN_COLUMNS))).toBe(expected.map((r) => csvLine(SIGN_IN_COLUMNS.map((c) => pick(r, c)))).join(''));
  }
});

test('drive activity rendered by PostgreSQL is what activityJson and activityCsvRow give, other actors redacted alike', async () => {
  const [subject] = users as [string];
  for (const redact of [true, false]) {
    for (const userId of users) {
      const rows = (await all(driveActivitiesOfUser(db, tenantId, userId))).map((a) => (redact ? redactActivity(a, userId) : a));
      expect(await copiedRecords(activityJsonCopy('ownDrive', tenantId, userId, redact))).toEqual(rows.map((a) => roundTrip(activityJson(a))));
      expect(await copied(activityCsvCopy('ownDrive', tenantId, userId, redact))).toBe(rows.map((a) => csvLine(activityCsvRow(a))).join(''));
      expect((await firstActivityTexts(db, 'ownDrive', tenantId, userId, redact, 5)).map((r) => JSON.parse(r.json) as unknown)).toEqual(
        rows.slice(0, 5).map((a) => roundTrip(activityJson(a))),
      );
    }
  }
  const elsewhere = await all(driveActivitiesByActorElsewhere(db, tenantId, subject));
  expect(elsewhere.length).toBeGreaterThan(0);
  expect(await copiedRecords(activityJsonCopy('byActorElsewhere', tenantId, subject, false))).toEqual(elsewhere.map((a) => roundTrip(activityJson(a))));
  expect(await copied(activityCsvCopy('byActorElsewhere', tenantId, subject, false))).toBe(elsewhere.map((a) => csvLine(activityCsvRow(a))).join(''));
  // The subject's own records keep their address; a colleague's on the subject's drive does not.
  const own = (await copiedRecords(activityJsonCopy('ownDrive', tenantId, subject, true))) as { id: string; clientIp: string | null }[];
  expect(own.find((a) => a.id === 'b0000000-0000-4000-8000-000000000001')?.clientIp).toBe('10.0.0.1');
  expect(own.find((a) => a.id === 'b0000000-0000-4000-8000-000000000004')?.clientIp).toBeNull();
});
