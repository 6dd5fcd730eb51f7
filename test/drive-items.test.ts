import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, PUBLIC_URL, type TestApp } from './support/harness.ts';
import { createDriveUser, pathUrl } from './support/drive-helpers.ts';

let t: TestApp;
let token: string;
const tenant = randomUUID();

beforeAll(async () => {
  t = await createTestApp();
  token = await t.appToken(tenant, ['Files.ReadWrite.All', 'User.ReadWrite.All']);
});
afterAll(async () => {
  await t.close();
});

const auth = (tok = token) => ({ authorization: `Bearer ${tok}` });

async function upload(user: string, path: string, body: string | Buffer = 'x', tok = token, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'PUT', url: pathUrl(user, path, ':/content'), headers: { ...auth(tok), ...headers }, payload: body });
}

async function activities(
  user: string,
): Promise<
  { activity_type: string; item_path: string; item_id: string; client_ip: string; user_agent: string | null; app_id: string | null; actor: unknown }[]
> {
  const { rows } = await t.db.query('select * from drive_activities where user_id = $1 order by activity_at, activity_type, item_path', [user]);
  return rows;
}

describe('listing and reading', () => {
  test('children are listed by name and paged with $top and @odata.nextLink', async () => {
    const user = await createDriveUser(t, tenant);
    const names = ['e.txt', 'B.txt', 'a.txt', 'd.txt', 'c.txt'];
    for (const n of names) expect((await upload(user, `Folder/${n}`)).statusCode).toBe(201);
    expect((await upload(user, 'Folder/Sub/inner.txt')).statusCode).toBe(201);

    const seen: string[] = [];
    let url: string | undefined = `/v1.0/users/${user}/drive/root:/Folder`;
    const folder = (await t.app.inject({ method: 'GET', url, headers: auth() })).json();
    expect(folder).toMatchObject({ name: 'Folder', folder: { childCount: 6 }, parentReference: { path: '/drive/root:' } });
    url = `/v1.0/users/${user}/drive/items/${folder.id}/children?$top=2`;
    let pages = 0;
    while (url) {
      const res = await t.app.inject({ method: 'GET', url, headers: auth() });
      expect(res.statusCode).toBe(200);
      const body: { value: { name: string; parentReference: { path: string } }[]; '@odata.nextLink'?: string } = res.json();
      expect(body.value.length).toBeLessThanOrEqual(2);
      for (const v of body.value) {
        seen.push(v.name);
        expect(v.parentReference.path).toBe('/drive/root:/Folder');
      }
      url = body['@odata.nextLink']?.replace('http://dsr.test', '');
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['a.txt', 'B.txt', 'c.txt', 'd.txt', 'e.txt', 'Sub']);

    const root = await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/root/children`, headers: auth() });
    expect(root.json().value.map((v: { name: string }) => v.name)).toEqual(['Folder']);
    const rootItem = await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/root`, headers: auth() });
    expect(rootItem.json()).toMatchObject({ name: 'root', root: {}, folder: { childCount: 1 } });
    const drive = await t.app.inject({ method: 'GET', url: `/beta/users/${user}/drive`, headers: auth() });
    expect(drive.json()).toMatchObject({ id: user, driveType: 'business' });

    const bad = await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/root/children?$skiptoken=nope`, headers: auth() });
    expect(bad.statusCode).toBe(400);
  });

  test('GET by path and by id give the same item; $select narrows it', async () => {
    const user = await createDriveUser(t, tenant);
    const created = (await upload(user, 'A/B/report.pdf', 'pdf')).json();
    const byPath = await t.app.inject({ method: 'GET', url: pathUrl(user, 'a/b/REPORT.pdf', ':'), headers: auth() });
    expect(byPath.statusCode).toBe(200);
    expect(byPath.json()).toMatchObject({ id: created.id, name: 'report.pdf', file: { mimeType: 'application/pdf' } });
    const sel = await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/items/${created.id}?$select=id,name`, headers: auth() });
    expect(Object.keys(sel.json()).sort()).toEqual(['@odata.context', 'id', 'name']);
  });

  test("unknown item, unknown user and another tenant's user are 404s with the right codes", async () => {
    const user = await createDriveUser(t, tenant);
    const item = await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/items/${randomUUID()}`, headers: auth() });
    expect(item.statusCode).toBe(404);
    expect(item.json().error.code).toBe('itemNotFound');
    const notGuid = await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/items/xyz/content`, headers: auth() });
    expect(notGuid.json().error.code).toBe('itemNotFound');
    const byPath = await t.app.inject({ method: 'GET', url: pathUrl(user, 'nope.txt'), headers: auth() });
    expect(byPath.json().error.code).toBe('itemNotFound');
    const noUser = await t.app.inject({ method: 'GET', url: `/v1.0/users/${randomUUID()}/drive/root/children`, headers: auth() });
    expect(noUser.statusCode).toBe(404);
    expect(noUser.json().error.code).toBe('Request_ResourceNotFound');
    const otherTenant = await t.appToken(randomUUID(), ['Files.ReadWrite.All']);
    const cross = await upload(user, 'x.txt', 'x', otherTenant);
    expect(cross.statusCode).toBe(404);
    expect(cross.json().error.code).toBe('Request_ResourceNotFound');
  });
});

describe('names', () => {
  test.each([
    ['a"b.txt'],
    ['a*b'],
    ['a:b'],
    ['a<b'],
    ['a>b'],
    ['a?b'],
    ['a\\b'],
    ['a|b'],
    ['a%2Fb'],
    ['trailing.'],
    ['trailing '],
    [' leading'],
    ['CON'],
    ['nul'],
    ['COM0'],
    ['lpt9'],
    ['.lock'],
    ['desktop.ini'],
    ['x_vti_y'],
    ['n'.repeat(256)],
  ])('%s is refused with 400 invalidRequest and nothing is written', async (name) => {
    const user = await createDriveUser(t, tenant);
    const encoded = name === 'a%2Fb' ? name : encodeURIComponent(name);
    const res = await t.app.inject({ method: 'PUT', url: `/v1.0/users/${user}/drive/root:/ok/${encoded}:/content`, headers: auth(), payload: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalidRequest');
    expect(await activities(user)).toEqual([]);
    expect((await t.db.query('select 1 from drive_items where owner_user_id = $1 and name = $2', [user, 'ok'])).rowCount).toBe(0);
  });

  test('names near the rules are accepted', async () => {
    const user = await createDriveUser(t, tenant);
    for (const name of ['CON.txt', 'a.b c', 'n'.repeat(255), 'ünïcødé €.txt', '.hidden']) {
      const res = await upload(user, name);
      expect(res.statusCode, name).toBe(201);
      expect(res.json().name).toBe(name);
    }
  });
});

describe('activity', () => {
  test('uploads, reads and downloads write their records with actor, IP, user agent and app id', async () => {
    const user = await createDriveUser(t, tenant);
    const up = await upload(user, 'P/Q/file.txt', 'data', token, { 'user-agent': 'drive-test/1.0' });
    const id = up.json().id;
    await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/items/${id}`, headers: auth() });
    const redirect = await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/items/${id}/content`, headers: auth() });
    expect(redirect.statusCode).toBe(302);
    // The pre-authenticated URL is fetched without a token; it writes the record, naming who asked for it.
    const bytes = await t.app.inject({ method: 'GET', url: redirect.headers.location!.slice(PUBLIC_URL.length), headers: { 'user-agent': 'drive-test/1.0' } });
    expect(bytes.body).toBe('data');
    await upload(user, 'P/Q/file.txt', 'data v2');
    const rows = await activities(user);
    expect(rows.map((r) => [r.activity_type, r.item_path])).toEqual([
      ['FileUploaded', '/P/Q/file.txt'],
      ['FolderCreated', '/P'],
      ['FolderCreated', '/P/Q'],
      ['FileAccessed', '/P/Q/file.txt'],
      ['FileDownloaded', '/P/Q/file.txt'],
      ['FileModified', '/P/Q/file.txt'],
    ]);
    const first = rows[0]!;
    expect(first).toMatchObject({ item_id: id, client_ip: '127.0.0.1', user_agent: 'drive-test/1.0' });
    expect(first.app_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.actor).toEqual({ application: { id: first.app_id, displayName: null } });
  });

  test('a failed change writes no record', async () => {
    const user = await createDriveUser(t, tenant);
    expect((await upload(user, 'file.txt')).statusCode).toBe(201);
    const before = (await activities(user)).length;
    const underFile = await upload(user, 'file.txt/New/child.txt');
    expect(underFile.statusCode).toBe(409);
    const failConflict = await t.app.inject({
      method: 'PUT',
      url: `${pathUrl(user, 'file.txt', ':/content')}?@microsoft.graph.conflictBehavior=fail`,
      headers: auth(),
      payload: 'y',
    });
    expect(failConflict.statusCode).toBe(409);
    expect(failConflict.json().error.code).toBe('nameAlreadyExists');
    const folderClash = await upload(user, 'Dir/x.txt');
    expect(folderClash.statusCode).toBe(201);
    const after1 = (await activities(user)).length;
    expect((await upload(user, 'Dir')).statusCode).toBe(409);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${user}/drive/items/${randomUUID()}`, headers: auth() })).statusCode).toBe(404);
    expect(after1).toBe(before + 2);
    expect((await activities(user)).length).toBe(after1);
    // A folder implicitly created by the failed upload was rolled back with it.
    expect((await t.db.query(`select 1 from drive_items where owner_user_id = $1 and name = 'New'`, [user])).rowCount).toBe(0);
  });

  test('deleting a folder deletes its subtree and records each removed item', async () => {
    const user = await createDriveUser(t, tenant);
    const top = (await upload(user, 'Top/Mid/deep.txt')).json();
    await upload(user, 'Top/side.txt');
    await upload(user, 'keep.txt');
    const folder = (await t.app.inject({ method: 'GET', url: pathUrl(user, 'Top'), headers: auth() })).json();
    const del = await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${user}/drive/items/${folder.id}`, headers: auth() });
    expect(del.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/items/${top.id}`, headers: auth() })).statusCode).toBe(404);
    const left = (await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/root/children`, headers: auth() })).json();
    expect(left.value.map((v: { name: string }) => v.name)).toEqual(['keep.txt']);
    const deleted = (await activities(user))
      .filter((a) => a.activity_type === 'FileDeleted')
      .map((a) => a.item_path)
      .sort();
    expect(deleted).toEqual(['/Top', '/Top/Mid', '/Top/Mid/deep.txt', '/Top/side.txt']);
    const root = (await t.app.inject({ method: 'GET', url: `/v1.0/users/${user}/drive/root`, headers: auth() })).json();
    expect((await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${user}/drive/items/${root.id}`, headers: auth() })).statusCode).toBe(400);
  });

  test('deleting the user for good removes the drive items and the activity', async () => {
    const user = await createDriveUser(t, tenant);
    await upload(user, 'Gone/soon.txt');
    expect((await t.db.query('select 1 from drive_items where owner_user_id = $1', [user])).rowCount).toBe(3);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${user}`, headers: auth() });
    expect(del.statusCode).toBe(204);
    // The soft delete keeps the drive for a restore; the permanent delete takes it.
    expect((await t.db.query('select 1 from drive_items where owner_user_id = $1', [user])).rowCount).toBe(3);
    const purge = await t.app.inject({
      method: 'DELETE',
      url: `/v1.0/directory/deletedItems/${user}`,
      headers: auth(await t.appToken(tenant, ['User.ReadWrite.All'])),
    });
    expect(purge.statusCode).toBe(204);
    expect((await t.db.query('select 1 from drive_items where owner_user_id = $1', [user])).rowCount).toBe(0);
    expect(await activities(user)).toEqual([]);
  });
});

describe('permissions', () => {
  test('applications need Files.ReadWrite.All; delegated callers their own drive with Files.ReadWrite', async () => {
    const alice = await createDriveUser(t, tenant, 'alice');
    const bob = await createDriveUser(t, tenant, 'bob');
    const noFiles = await t.appToken(tenant, ['User.Read.All']);
    const denied = await upload(alice, 'a.txt', 'x', noFiles);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('accessDenied');
    const readOnlyApp = await t.appToken(tenant, ['Files.Read.All']);
    expect((await upload(alice, 'a.txt', 'x', readOnlyApp)).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: `/v1.0/users/${alice}/drive/root/children`, headers: auth(readOnlyApp) })).statusCode).toBe(200);

    const aliceOwn = await t.userToken(tenant, alice, ['Files.ReadWrite'], false);
    const mine = await upload(alice, 'mine.txt', 'x', aliceOwn);
    expect(mine.statusCode).toBe(201);
    expect(mine.json().createdBy).toEqual({ user: { id: alice, displayName: 'User alice' } });
    expect((await upload(bob, 'theirs.txt', 'x', aliceOwn)).statusCode).toBe(403);
    const aliceAll = await t.userToken(tenant, alice, ['Files.ReadWrite.All'], false);
    expect((await upload(bob, 'theirs.txt', 'x', aliceAll)).statusCode).toBe(403);
    const aliceAdmin = await t.userToken(tenant, alice, ['Files.ReadWrite.All'], true);
    const other = await upload(bob, 'theirs.txt', 'x', aliceAdmin);
    expect(other.statusCode).toBe(201);
    expect(other.json().createdBy).toEqual({ user: { id: alice, displayName: 'User alice' } });
  });
});
