import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type SeedSummary } from '../src/seed/seed-tenant.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { createTestApp, tempDir, type TestApp } from './support/harness.ts';

let t: TestApp;
let seeded: SeedSummary;
const tenant = randomUUID();

async function get(url: string) {
  const token = await t.appToken(tenant, ['AuditLog.Read.All']);
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function countsOf(userId: string): Promise<Record<string, number>> {
  const { rows } = await t.db.query(
    `select (select count(*)::int from sign_ins where tenant_id = $1 and user_id = $2) as sign_ins,
            (select count(*)::int from drive_activities where tenant_id = $1 and user_id = $2) as drive_activities,
            (select count(*)::int from drive_items where tenant_id = $1 and owner_user_id = $2) as drive_items`,
    [tenant, userId],
  );
  return rows[0];
}

beforeAll(async () => {
  t = await createTestApp();
  seeded = await seedTenant({
    db: t.db,
    contentStore: createLocalContentStore(await tempDir('dsr-del-')),
    tenantId: tenant,
    users: 2,
    filesPerUser: 3,
    seed: 'deletion',
    now: new Date(),
  });
});

afterAll(async () => {
  await t.close();
});

describe('DELETE /users/{id} and the audit logs', () => {
  it('removes the user’s sign-ins, drive and drive activity; the audit of the deletion stays visible', async () => {
    const [gone, kept] = seeded.users as [SeedSummary['users'][number], SeedSummary['users'][number]];
    const byUser = (id: string) => `/v1.0/auditLogs/signIns?$top=1000&$filter=${encodeURIComponent(`userId eq '${id}'`)}`;
    const before = await get(byUser(gone.id));
    expect(before.value.length).toBe(gone.signIns);
    expect(before.value[0]).toMatchObject({ userId: gone.id, userPrincipalName: gone.userPrincipalName, status: { errorCode: expect.any(Number) } });
    expect(await countsOf(gone.id)).toEqual({ sign_ins: gone.signIns, drive_activities: gone.driveActivities, drive_items: gone.files + gone.folders });
    const keptBefore = await countsOf(kept.id);

    const writer = await t.appToken(tenant, ['User.ReadWrite.All']);
    const res = await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${gone.id}`, headers: { authorization: `Bearer ${writer}` } });
    expect(res.statusCode).toBe(204);
    // A soft delete keeps everything (restorable, exportable); the permanent delete removes it.
    expect(await countsOf(gone.id)).toEqual({ sign_ins: gone.signIns, drive_activities: gone.driveActivities, drive_items: gone.files + gone.folders });
    const purge = await t.app.inject({ method: 'DELETE', url: `/v1.0/directory/deletedItems/${gone.id}`, headers: { authorization: `Bearer ${writer}` } });
    expect(purge.statusCode).toBe(204);

    expect((await get(byUser(gone.id))).value).toEqual([]);
    expect(await countsOf(gone.id)).toEqual({ sign_ins: 0, drive_activities: 0, drive_items: 0 });
    expect(await countsOf(kept.id)).toEqual(keptBefore);
    expect((await get(byUser(kept.id))).value).toHaveLength(kept.signIns);

    const audits = await get(`/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent(`targetResources/any(t: t/id eq '${gone.id}')`)}`);
    expect(audits.value.map((a: { activityDisplayName: string }) => a.activityDisplayName)).toEqual(['Hard Delete user', 'Delete user', 'Add user']);
    expect(audits.value[1]).toMatchObject({
      category: 'UserManagement',
      operationType: 'Delete',
      result: 'success',
      targetResources: [{ id: gone.id, userPrincipalName: gone.userPrincipalName, type: 'User' }],
    });
  });
});
