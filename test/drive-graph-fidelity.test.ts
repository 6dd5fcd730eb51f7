import { ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuickXorHash } from '../src/content/quick-xor-hash.ts';
import { insertUser } from '../src/db/queries/users.ts';
import { graphClient, listenGraph } from './support/graph-client.ts';
import { createTestApp, type TestApp } from './support/harness.ts';
import { testBytes } from './support/drive-helpers.ts';

interface Item {
  id: string;
  name: string;
  size: number;
  eTag: string;
  cTag?: string;
  webUrl: string;
  fileSystemInfo: { createdDateTime: string; lastModifiedDateTime: string };
  parentReference: { driveId: string; id?: string; path?: string };
  file?: { hashes: { quickXorHash?: string; sha256Hash: string } };
  folder?: { childCount: number };
  '@microsoft.graph.downloadUrl'?: string;
  '@odata.context'?: string;
}

const TENANT = randomUUID();
let t: TestApp;
let server: FastifyInstance;
let base = '';
let app: Client;
let me: Client;
let userId: string;
let appToken: string;

async function put(path: string, body: string | Buffer, query = ''): Promise<Item> {
  return app.api(`/drives/${userId}/root:/${path}:/content${query}`).put(body) as Promise<Item>;
}

beforeAll(async () => {
  t = await createTestApp();
  ({ server, base } = await listenGraph(t));
  userId = (await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: 'megan@contoso.com', display_name: 'Megan' }, new Date())).id;
  appToken = await t.appToken(TENANT, ['Files.ReadWrite.All', 'User.Read.All']);
  app = graphClient(base, appToken);
  me = graphClient(base, await t.userToken(TENANT, userId, ['Files.ReadWrite', 'User.Read'], false));
});
afterAll(async () => {
  await server?.close();
  await t?.close();
});

describe('addressing', () => {
  it('/drives/{id}, /users/{id}/drive and /me/drive are the same drive resource, with owner and quota', async () => {
    await put('quota/a.bin', testBytes(1000));
    const byDrive = await app.api(`/drives/${userId}`).get();
    const byUser = await app.api(`/users/${userId}/drive`).get();
    const mine = await me.api('/me/drive').get();
    for (const d of [byDrive, byUser, mine]) {
      expect(d).toMatchObject({ id: userId, driveType: 'business', owner: { user: { id: userId, displayName: 'Megan' } } });
      expect(d.quota).toMatchObject({ deleted: 0, state: 'normal', total: 1024 ** 4 });
      expect(d.quota.used).toBeGreaterThanOrEqual(1000);
      expect(d.quota.remaining).toBe(d.quota.total - d.quota.used);
    }
    expect(byDrive['@odata.context']).toBe(`${base}/v1.0/$metadata#drives/$entity`);
  });

  it('root, items, path addressing, children and content answer under /drives/{id} and /me', async () => {
    const file = await put('Docs/letter.txt', 'dear Megan');
    const root = (await app.api(`/drives/${userId}/root`).get()) as Item;
    const docs = (await app.api(`/drives/${userId}/root:/Docs`).get()) as Item;
    expect((await app.api(`/drives/${userId}/items/${docs.id}/children`).get()).value.map((i: Item) => i.name)).toEqual(['letter.txt']);
    expect((await app.api(`/drives/${userId}/root/children`).get()).value.map((i: Item) => i.id)).toContain(docs.id);
    expect(((await me.api(`/me/drive/items/${file.id}`).get()) as Item).name).toBe('letter.txt');
    expect(((await me.api('/me/drive/root:/Docs/letter.txt').get()) as Item).id).toBe(file.id);
    expect(root.id).toBe(docs.parentReference.id);
    // Path addressing relative to a folder, for metadata and content.
    expect(((await app.api(`/drives/${userId}/items/${docs.id}:/letter.txt`).get()) as Item).id).toBe(file.id);
    const relative = (await app.api(`/drives/${userId}/items/${docs.id}:/letter.txt:/content`).responseType(ResponseType.ARRAYBUFFER).get()) as ArrayBuffer;
    expect(Buffer.from(relative).toString()).toBe('dear Megan');
    const missing = (await app.api(`/drives/${userId}/items/${docs.id}:/nope.txt`).responseType(ResponseType.RAW).get()) as Response;
    expect(missing.status).toBe(404);
    // getStream follows the 302 to the pre-authenticated URL, as the SDK does against OneDrive.
    const bytes = (await app.api(`/drives/${userId}/items/${file.id}/content`).responseType(ResponseType.ARRAYBUFFER).get()) as ArrayBuffer;
    expect(Buffer.from(bytes).toString()).toBe('dear Megan');
    const mineBytes = (await me.api('/me/drive/root:/Docs/letter.txt:/content').responseType(ResponseType.ARRAYBUFFER).get()) as ArrayBuffer;
    expect(Buffer.from(mineBytes).toString()).toBe('dear Megan');
  });

  it("an application token on /me gets Graph's 400; a drive id that is not a GUID is not a drive", async () => {
    const res = (await app.api('/me/drive').responseType(ResponseType.RAW).get()) as Response;
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, any>).error).toMatchObject({
      code: 'BadRequest',
      message: '/me request is only valid with delegated authentication flow.',
    });
    const self = await me.api('/me').get();
    expect(self).toMatchObject({ id: userId, userPrincipalName: 'megan@contoso.com' });
    const bad = (await app.api('/drives/megan@contoso.com/root').responseType(ResponseType.RAW).get()) as Response;
    expect(bad.status).toBe(404);
  });
});

describe('items', () => {
  it('quickXorHash is the hash of the bytes, cTag follows the content only, folder size is the total', async () => {
    const data = testBytes(300_001, 7);
    const first = await put('Hashes/data.bin', data);
    expect(first.file!.hashes.quickXorHash).toBe(new QuickXorHash().update(data).digest());
    const hello = await put('Hashes/hello.txt', 'hello world');
    expect(hello.file!.hashes.quickXorHash).toBe('aCgDG9jwBhDc4Q1yawMZAAAAAAA=');
    const again = await put('Hashes/data.bin', data);
    expect(again.id).toBe(first.id);
    expect(again.cTag).toBe(first.cTag);
    const changed = await put('Hashes/data.bin', testBytes(10, 8));
    expect(changed.cTag).not.toBe(first.cTag);
    expect(changed.eTag).not.toBe(first.eTag);
    await put('Hashes/Deep/er/x.bin', testBytes(5));
    const folder = (await app.api(`/drives/${userId}/root:/Hashes`).get()) as Item;
    expect(folder.size).toBe(10 + 11 + 5);
    expect(folder.cTag).toBeUndefined();
    expect(folder.parentReference).toMatchObject({ driveId: userId, path: '/drive/root:' });
    expect(changed.parentReference).toMatchObject({ driveId: userId, id: folder.id, path: '/drive/root:/Hashes' });
    expect(changed.fileSystemInfo).toEqual({ createdDateTime: expect.any(String), lastModifiedDateTime: changed.fileSystemInfo.lastModifiedDateTime });
    expect(changed.webUrl).toBe(`${base}/v1.0/drives/${userId}/items/${changed.id}`);
  });

  it('$select takes every property the item has; an unknown one is still 400', async () => {
    const file = await put('select/s.txt', 'abc');
    const all = [
      'id',
      'name',
      'size',
      'eTag',
      'cTag',
      'createdDateTime',
      'lastModifiedDateTime',
      'fileSystemInfo',
      'parentReference',
      'createdBy',
      'lastModifiedBy',
      'webUrl',
      'file',
      '@microsoft.graph.downloadUrl',
    ];
    const got = await app.api(`/drives/${userId}/items/${file.id}`).select(all).get();
    for (const p of all) expect(got).toHaveProperty([p]);
    const bad = (await app.api(`/drives/${userId}/items/${file.id}`).select(['id', 'nope']).responseType(ResponseType.RAW).get()) as Response;
    expect(bad.status).toBe(400);
  });
});

describe('downloads', () => {
  let file: Item;
  const data = testBytes(10_000, 3);
  beforeAll(async () => {
    file = await put('dl/range.bin', data);
  });

  it('/content answers 302 to a pre-authenticated URL that needs no token and expires with its signature', async () => {
    const res = await fetch(`${base}/v1.0/drives/${userId}/items/${file.id}/content`, { headers: { authorization: `Bearer ${appToken}` }, redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location).toBe(file['@microsoft.graph.downloadUrl']!.replace(/[^/]+$/, location.split('/').pop()!));
    const plain = await fetch(location);
    expect(plain.status).toBe(200);
    expect(Buffer.from(await plain.arrayBuffer()).equals(data)).toBe(true);
    expect(plain.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''range.bin");
    const forged = await fetch(`${location.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
  });

  it('Range gives 206 with Content-Range; unsatisfiable gives 416; several ranges give the whole file', async () => {
    const url = file['@microsoft.graph.downloadUrl']!;
    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/10000');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(9990))).toBe(true);
    const beyond = await fetch(url, { headers: { range: 'bytes=10000-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */10000');
    const many = await fetch(url, { headers: { range: 'bytes=0-1,5-6' } });
    expect(many.status).toBe(200);
    expect((await many.arrayBuffer()).byteLength).toBe(10_000);
  });

  it('If-None-Match with the eTag or cTag gives 304, on /content and on the download URL; Prefer streams directly', async () => {
    const headers = { authorization: `Bearer ${appToken}` };
    const contentUrl = `${base}/v1.0/drives/${userId}/items/${file.id}/content`;
    for (const tag of [file.eTag, file.cTag!]) {
      expect((await fetch(contentUrl, { headers: { ...headers, 'if-none-match': tag }, redirect: 'manual' })).status).toBe(304);
      expect((await fetch(file['@microsoft.graph.downloadUrl']!, { headers: { 'if-none-match': tag } })).status).toBe(304);
    }
    const direct = await fetch(contentUrl, { headers: { ...headers, prefer: 'return=representation', range: 'bytes=0-9' }, redirect: 'manual' });
    expect(direct.status).toBe(206);
    expect(direct.headers.get('preference-applied')).toBe('return=representation');
    expect(Buffer.from(await direct.arrayBuffer()).equals(data.subarray(0, 10))).toBe(true);
  });

  it("a download URL stays within the router's 1,024-character path limit, even for a long non-ASCII display name", async () => {
    const long = await insertUser(
      t.db,
      TENANT,
      randomUUID(),
      { user_principal_name: `long-${randomUUID().slice(0, 6)}@contoso.com`, display_name: 'Ωμέγα'.repeat(51) },
      new Date(),
    );
    const client = graphClient(base, await t.userToken(TENANT, long.id, ['Files.ReadWrite'], false));
    const item = (await client.api('/me/drive/root:/mine.txt:/content').put('mine')) as Item;
    const res = await fetch(item['@microsoft.graph.downloadUrl']!);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('mine');
  });

  it('a download URL of replaced content answers 404', async () => {
    const old = file['@microsoft.graph.downloadUrl']!;
    await put('dl/replaced.bin', 'v1');
    const v1 = (await app.api(`/drives/${userId}/root:/dl/replaced.bin`).get()) as Item;
    await put('dl/replaced.bin', 'v2');
    expect((await fetch(v1['@microsoft.graph.downloadUrl']!)).status).toBe(404);
    expect((await fetch(old)).status).toBe(200);
  });
});

describe('upload sessions', () => {
  async function fragment(uploadUrl: string, bytes: Buffer, first: number, total: number): Promise<Response> {
    return fetch(uploadUrl, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-range': `bytes ${first}-${first + bytes.length - 1}/${total}`, 'content-length': String(bytes.length) },
    });
  }

  it('on items/{parentId}:/{name}: with rename, then on items/{itemId} replacing the content', async () => {
    const existing = await put('up/report.txt', 'old');
    const folder = (await app.api(`/drives/${userId}/root:/up`).get()) as Item;
    const session = await app
      .api(`/drives/${userId}/items/${folder.id}:/report.txt:/createUploadSession`)
      .post({ item: { '@microsoft.graph.conflictBehavior': 'rename', name: 'report.txt' } });
    const done = await fragment(session.uploadUrl, Buffer.from('new'), 0, 3);
    expect(done.status).toBe(201);
    expect(((await done.json()) as Item).name).toBe('report (1).txt');
    const second = await app
      .api(`/drives/${userId}/items/${folder.id}:/report.txt:/createUploadSession`)
      .post({ item: { '@microsoft.graph.conflictBehavior': 'rename' } });
    expect(((await (await fragment(second.uploadUrl, Buffer.from('x'), 0, 1)).json()) as Item).name).toBe('report (2).txt');
    const replace = await app.api(`/drives/${userId}/items/${existing.id}/createUploadSession`).version('beta').post({});
    const replaced = await fragment(replace.uploadUrl, Buffer.from('replaced'), 0, 8);
    expect(replaced.status).toBe(200);
    const item = (await replaced.json()) as Item;
    expect(item.id).toBe(existing.id);
    expect(item['@odata.context']).toBe(`${base}/beta/$metadata#users('${userId}')/drive/items/$entity`);
  });

  it('deferCommit waits for the explicit commit; each fragment extends expirationDateTime', async () => {
    const session = await app.api(`/drives/${userId}/root:/up/deferred.bin:/createUploadSession`).post({ deferCommit: true, item: { fileSize: 6 } });
    const firstExpiry = Date.parse(session.expirationDateTime);
    const a = await fragment(session.uploadUrl, Buffer.from('abc'), 0, 6);
    expect(a.status).toBe(202);
    expect(Date.parse(((await a.json()) as Record<string, any>).expirationDateTime)).toBeGreaterThanOrEqual(firstExpiry);
    const b = await fragment(session.uploadUrl, Buffer.from('def'), 3, 6);
    expect(b.status).toBe(202);
    expect(((await b.json()) as Record<string, any>).nextExpectedRanges).toEqual([]);
    const missing = (await app.api(`/drives/${userId}/root:/up/deferred.bin`).responseType(ResponseType.RAW).get()) as Response;
    expect(missing.status).toBe(404);
    const commit = await fetch(session.uploadUrl, { method: 'POST' });
    expect(commit.status).toBe(201);
    expect(((await commit.json()) as Item).size).toBe(6);
  });

  it('bad options are 400 invalidRequest; a taken name with fail is 409 nameAlreadyExists', async () => {
    await put('up/taken.txt', 't');
    for (const body of [
      { item: { fileSize: -1 } },
      { item: { name: 'other.txt' } },
      { deferCommit: 'yes' },
      { item: { colour: 'red' } },
      { item: { '@microsoft.graph.conflictBehavior': 'merge' } },
    ]) {
      const res = (await app.api(`/drives/${userId}/root:/up/taken.txt:/createUploadSession`).responseType(ResponseType.RAW).post(body)) as Response;
      expect(res.status).toBe(400);
      expect(((await res.json()) as Record<string, any>).error.code).toBe('invalidRequest');
    }
    const fail = (await app
      .api(`/drives/${userId}/root:/up/taken.txt:/createUploadSession`)
      .responseType(ResponseType.RAW)
      .post({ item: { '@microsoft.graph.conflictBehavior': 'fail' } })) as Response;
    expect(fail.status).toBe(409);
    expect(((await fail.json()) as Record<string, any>).error.code).toBe('nameAlreadyExists');
  });
});
