// Export POSTs under load go to PostgreSQL in groups (several per statement and commit): each
// request must still get its own answer, its own operation and audit, and nothing written for
// the ones refused, whatever else shares its statement.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../src/db/queries/users.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';

const TENANT = randomUUID();
let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await createTestApp();
  token = await t.appToken(TENANT, ['User.Export.All', 'User.Read.All']);
});
afterAll(async () => {
  await t?.close();
});

function post(user: string, storageLocation: string) {
  return t.app.inject({
    method: 'POST',
    url: `/v1.0/users/${user}/exportPersonalData`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ storageLocation }),
  });
}

describe('export POSTs grouped into shared statements', () => {
  it('forty at once: every one answered for itself, one operation and one audit each, repeats and unknown users sharing a statement change nothing', async () => {
    const users = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        insertUser(t.db, TENANT, randomUUID(), { user_principal_name: `grouped-${i}@contoso.com`, display_name: `Grouped ${i}` }, new Date()),
      ),
    );
    const sas = users.map(() => fakeSasUrl());
    const unknown = randomUUID();
    const responses = await Promise.all([
      ...users.map((u, i) => post(u.id, sas[i]!)),
      // The same request twice more: the same operation, whichever statement carries it.
      post(users[0]!.id, sas[0]!),
      post(users[1]!.id, sas[1]!),
      post(unknown, fakeSasUrl()),
    ]);
    const ids = responses.slice(0, 40).map((r) => String(r.headers.location).split('/').pop()!);
    expect(responses.slice(0, 42).map((r) => r.statusCode)).toEqual(Array(42).fill(202));
    expect(new Set(ids).size).toBe(40);
    expect(responses[40]!.headers.location).toBe(responses[0].headers.location);
    expect(responses[41]!.headers.location).toBe(responses[1].headers.location);
    expect(responses[42]!.statusCode).toBe(404);

    const { rows: ops } = await t.db.query<{ id: string; user_id: string; user_principal_name: string; xmin: string }>(
      'select id, user_id, user_principal_name, xmin::text from data_policy_operations where tenant_id = $1',
      [TENANT],
    );
    expect(ops).toHaveLength(40);
    const byId = new Map(ops.map((o) => [o.id, o]));
    ids.forEach((id, i) => expect(byId.get(id)).toMatchObject({ user_id: users[i]!.id, user_principal_name: `grouped-${i}@contoso.com` }));
    // Several requests shared a transaction: fewer commits than operations.
    expect(new Set(ops.map((o) => o.xmin)).size).toBeLessThan(40);

    const { rows: audits } = await t.db.query<{
      correlation_id: string;
      target_user_id: string;
      target_resources: { userPrincipalName: string; displayName: string }[];
    }>(
      `select correlation_id, target_user_id, target_resources from directory_audits where tenant_id = $1 and activity_display_name = 'Export personal data requested'`,
      [TENANT],
    );
    expect(audits).toHaveLength(40);
    for (const a of audits) {
      const i = ids.indexOf(a.correlation_id);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(a.target_user_id).toBe(users[i]!.id);
      expect(a.target_resources[0]).toMatchObject({ userPrincipalName: `grouped-${i}@contoso.com`, displayName: `Grouped ${i}` });
    }
  });
});
