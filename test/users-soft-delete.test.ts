import { ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectGarbage } from '../src/content/collect-garbage.ts';
import { graphClient, listenGraph } from './support/graph-client.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';

const TENANT = randomUUID();
let t: TestApp;
let server: FastifyInstance;
let client: Client;

async function raw(request: Promise<unknown>): Promise<{ status: number; body: Record<string, any> }> {
  const res = (await request) as Response;
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

async function newUserWithFile(name: string): Promise<string> {
  const user = await client
    .api('/users')
    .post({ userPrincipalName: `${name}-${randomUUID().slice(0, 6)}@contoso.com`, displayName: name, accountEnabled: true });
  await client.api(`/users/${user.id}/drive/root:/notes.txt:/content`).put('kept while deleted');
  return user.id as string;
}

async function driveItemCount(userId: string): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>('select count(*)::int as n from drive_items where tenant_id = $1 and owner_user_id = $2', [TENANT, userId]);
  return rows[0]!.n;
}

beforeAll(async () => {
  t = await createTestApp();
  let base: string;
  ({ server, base } = await listenGraph(t));
  client = graphClient(base, await t.appToken(TENANT, ['User.ReadWrite.All', 'Files.ReadWrite.All', 'User.Export.All', 'AuditLog.Read.All']));
});
afterAll(async () => {
  await server?.close();
  await t?.close();
});

describe('DELETE /users/{id} is a soft delete', () => {
  it('moves the user to deletedItems with its data; it can still be exported, then restored', async () => {
    const id = await newUserWithFile('Dana');
    expect((await raw(client.api(`/users/${id}`).responseType(ResponseType.RAW).delete())).status).toBe(204);
    const gone = await raw(client.api(`/users/${id}`).responseType(ResponseType.RAW).get());
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('Request_ResourceNotFound');
    expect((await client.api('/users').get()).value.map((u: { id: string }) => u.id)).not.toContain(id);

    const deleted = await client.api('/directory/deletedItems/microsoft.graph.user').get();
    const listed = deleted.value.find((u: { id: string }) => u.id === id);
    expect(listed).toMatchObject({ displayName: 'Dana', deletedDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const one = await client.api(`/directory/deletedItems/${id}`).get();
    expect(one).toMatchObject({ '@odata.type': '#microsoft.graph.user', id, deletedDateTime: listed.deletedDateTime });
    expect(await driveItemCount(id)).toBe(2);

    // The export of a soft-deleted user is accepted; its User.json carries deletedDateTime (toGraphUser).
    const exported = await raw(client.api(`/users/${id}/exportPersonalData`).responseType(ResponseType.RAW).post({ storageLocation: fakeSasUrl() }));
    expect(exported.status).toBe(202);

    const restored = await client.api(`/directory/deletedItems/${id}/restore`).post({});
    expect(restored).toMatchObject({ '@odata.type': '#microsoft.graph.user', id, displayName: 'Dana' });
    expect(restored.deletedDateTime).toBeUndefined();
    expect((await client.api(`/users/${id}/drive/root:/notes.txt`).get()).size).toBe(18);
    const audits = await client.api('/auditLogs/directoryAudits').filter(`targetResources/any(t: t/id eq '${id}')`).get();
    const trail = audits.value.map((a: { activityDisplayName: string }) => a.activityDisplayName);
    expect(trail[0]).toBe('Restore user');
    expect(trail.indexOf('Delete user')).toBeGreaterThan(0);
  });

  it("a permanent delete from deletedItems removes the user and its drive; unknown and malformed ids get Entra's errors", async () => {
    const id = await newUserWithFile('Eli');
    await client.api(`/users/${id}`).delete();
    expect((await raw(client.api(`/directory/deletedItems/${id}`).responseType(ResponseType.RAW).delete())).status).toBe(204);
    expect(await driveItemCount(id)).toBe(0);
    const again = await raw(client.api(`/directory/deletedItems/${id}`).responseType(ResponseType.RAW).get());
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('Request_ResourceNotFound');
    const malformed = await raw(client.api('/directory/deletedItems/not-a-guid/restore').responseType(ResponseType.RAW).post({}));
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('Request_BadRequest');
    const notExported = await raw(client.api(`/users/${id}/exportPersonalData`).responseType(ResponseType.RAW).post({ storageLocation: fakeSasUrl() }));
    expect(notExported.status).toBe(404);
  });

  it('is purged 30 days after the delete, with its drive', async () => {
    const id = await newUserWithFile('Fay');
    await client.api(`/users/${id}`).delete();
    await collectGarbage(t.db, t.deps.contentStore, { now: new Date(Date.now() + 29 * 86_400_000), listStore: false });
    expect(await driveItemCount(id)).toBe(2);
    await collectGarbage(t.db, t.deps.contentStore, { now: new Date(Date.now() + 31 * 86_400_000), listStore: false });
    expect(await driveItemCount(id)).toBe(0);
    const { rows } = await t.db.query('select 1 from users where tenant_id = $1 and id = $2', [TENANT, id]);
    expect(rows).toEqual([]);
  });
});
