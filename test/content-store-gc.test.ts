import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { collectGarbage } from '../src/content/collect-garbage.ts';
import { pinContent, unpinContent } from '../src/db/queries/content-blobs.ts';
import { recordStoredContent } from '../src/drive/commit-file.ts';
import { createTestApp, type TestApp } from './support/harness.ts';
import { createDriveUser, DIRECT_CONTENT, pathUrl, sha256Hex } from './support/drive-helpers.ts';

let t: TestApp;
let token: string;
const tenant = randomUUID();
const HOUR = 3600e3;

beforeAll(async () => {
  t = await createTestApp();
  token = await t.appToken(tenant, ['Files.ReadWrite.All', 'User.ReadWrite.All']);
});
afterAll(async () => {
  await t.close();
});

async function upload(user: string, itemPath: string, body: string) {
  const res = await t.app.inject({ method: 'PUT', url: pathUrl(user, itemPath, ':/content'), headers: { authorization: `Bearer ${token}` }, payload: body });
  expect(res.statusCode).toBeLessThan(300);
  return res.json<{ id: string }>();
}

const rowExists = async (sha: string) => (await t.db.query('select 1 from content_blobs where sha256 = $1', [sha])).rowCount === 1;
const later = (ms: number) => ({ now: new Date(Date.now() + ms) });

test('collects unreferenced content after the grace period, keeps referenced, pinned and young content', async () => {
  const user = await createDriveUser(t, tenant);
  const kept = sha256Hex(Buffer.from('kept'));
  const replaced = sha256Hex(Buffer.from('old version'));
  const deleted = sha256Hex(Buffer.from('deleted file'));
  const pinned = sha256Hex(Buffer.from('pinned by an export'));
  await upload(user, 'kept.txt', 'kept');
  await upload(user, 'v.txt', 'old version');
  await upload(user, 'v.txt', 'new version');
  const gone = await upload(user, 'deleted.txt', 'deleted file');
  const pinnedItem = await upload(user, 'pinned.txt', 'pinned by an export');
  await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${user}/drive/items/${gone.id}`, headers: { authorization: `Bearer ${token}` } });
  const operation = randomUUID();
  await pinContent(t.db, operation, [pinned]);
  await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${user}/drive/items/${pinnedItem.id}`, headers: { authorization: `Bearer ${token}` } });

  // Within the grace period nothing goes, referenced or not (uploads in flight).
  expect(await collectGarbage(t.db, t.deps.contentStore, { now: new Date() })).toMatchObject({ blobsDeleted: 0 });
  expect(await t.deps.contentStore.has(replaced)).toBe(true);

  const result = await collectGarbage(t.db, t.deps.contentStore, later(2 * HOUR));
  expect(result.blobsDeleted).toBe(2);
  for (const sha of [replaced, deleted]) {
    expect(await rowExists(sha)).toBe(false);
    expect(await t.deps.contentStore.has(sha)).toBe(false);
  }
  for (const sha of [kept, pinned]) {
    expect(await rowExists(sha)).toBe(true);
    expect(await t.deps.contentStore.has(sha)).toBe(true);
  }

  // Unpinned when the export ends: collected on the next round.
  await unpinContent(t.db, operation);
  expect((await collectGarbage(t.db, t.deps.contentStore, later(2 * HOUR))).blobsDeleted).toBe(1);
  expect(await t.deps.contentStore.has(pinned)).toBe(false);
  expect(await t.deps.contentStore.has(kept)).toBe(true);
});

test('content uploaded again after collection is stored again', async () => {
  const user = await createDriveUser(t, tenant);
  const first = await upload(user, 'again.txt', 'same bytes twice');
  await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${user}/drive/items/${first.id}`, headers: { authorization: `Bearer ${token}` } });
  await collectGarbage(t.db, t.deps.contentStore, later(2 * HOUR));
  const sha = sha256Hex(Buffer.from('same bytes twice'));
  expect(await t.deps.contentStore.has(sha)).toBe(false);
  const second = await upload(user, 'again.txt', 'same bytes twice');
  const res = await t.app.inject({
    method: 'GET',
    url: `/v1.0/users/${user}/drive/items/${second.id}/content`,
    headers: { authorization: `Bearer ${token}`, ...DIRECT_CONTENT },
  });
  expect(res.body).toBe('same bytes twice');
});

test('an upload whose bytes are collected before its row is recorded fails with 503 instead of a dangling item', async () => {
  // The race of collect-garbage.ts, forced: bytes stored, then removed by a collector, then recorded.
  const stored = await t.deps.contentStore.put(Readable.from([Buffer.from('raced')]));
  await t.deps.contentStore.delete(stored.sha256);
  await expect(recordStoredContent(t.deps, stored)).rejects.toMatchObject({ status: 503, code: 'ServiceUnavailable' });
});

test('expired upload sessions and sessions of deleted users are removed with their staged bytes', async () => {
  const user = await createDriveUser(t, tenant);
  const mk = async (itemPath: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: pathUrl(user, itemPath, ':/createUploadSession'),
      headers: { authorization: `Bearer ${token}` },
      payload: {},
    });
    const uploadUrl = new URL(res.json<{ uploadUrl: string }>().uploadUrl);
    const put = await t.app.inject({ method: 'PUT', url: uploadUrl.pathname, headers: { 'content-range': 'bytes 0-2/10' }, payload: 'abc' });
    expect(put.statusCode).toBe(202);
  };
  await mk('one.bin');
  await mk('two.bin');
  const ids = (await t.db.query<{ id: string }>('select id from upload_sessions where owner_user_id = $1', [user])).rows.map((r) => r.id);
  expect(ids).toHaveLength(2);
  expect((await collectGarbage(t.db, t.deps.contentStore, { now: new Date() })).sessionsRemoved).toBe(0);
  expect((await collectGarbage(t.db, t.deps.contentStore, later(25 * HOUR))).sessionsRemoved).toBe(2);
  expect((await t.db.query('select 1 from upload_sessions where owner_user_id = $1', [user])).rowCount).toBe(0);
  for (const id of ids) expect(existsSync(path.join(t.dataDir, 'content', 'staging', id))).toBe(false);

  const other = await createDriveUser(t, tenant);
  const res = await t.app.inject({
    method: 'POST',
    url: pathUrl(other, 'x.bin', ':/createUploadSession'),
    headers: { authorization: `Bearer ${token}` },
    payload: {},
  });
  expect(res.statusCode).toBe(200);
  await t.app.inject({ method: 'DELETE', url: `/v1.0/users/${other}`, headers: { authorization: `Bearer ${token}` } });
  expect((await collectGarbage(t.db, t.deps.contentStore, { now: new Date() })).sessionsRemoved).toBe(1);
});

test('temporary bodies a crash left behind are removed once untouched for the grace period; a put in progress is not', async () => {
  const tmp = path.join(t.dataDir, 'content', 'tmp');
  await mkdir(tmp, { recursive: true });
  const crashed = path.join(tmp, randomUUID());
  const writing = path.join(tmp, randomUUID());
  await writeFile(crashed, 'half a body');
  await writeFile(writing, 'a body being written');
  const threeHoursAgo = new Date(Date.now() - 3 * HOUR);
  await utimes(crashed, threeHoursAgo, threeHoursAgo);

  expect((await collectGarbage(t.db, t.deps.contentStore, { now: new Date() })).temporaryRemoved).toBe(1);
  expect(existsSync(crashed)).toBe(false);
  expect(existsSync(writing)).toBe(true);
});

test('listing pass: content a crash left without its content_blobs row is removed after the grace period; recorded and young content stays', async () => {
  const store = t.deps.contentStore;
  const bodyPath = (sha: string) => path.join(t.dataDir, 'content', sha.slice(0, 2), sha.slice(2, 4), sha);
  const threeHoursAgo = new Date(Date.now() - 3 * HOUR);
  // Stored, then the process died before recordStoredContent.
  const orphan = await store.put(Readable.from([Buffer.from(`orphan ${randomUUID()}`)]));
  await utimes(bodyPath(orphan.sha256), threeHoursAgo, threeHoursAgo);
  // Stored moments ago: its row may be on the way.
  const young = await store.put(Readable.from([Buffer.from(`young ${randomUUID()}`)]));
  // Old, recorded and referenced by a drive item.
  const user = await createDriveUser(t, tenant);
  const kept = `kept ${randomUUID()}`;
  await upload(user, 'kept.txt', kept);
  await utimes(bodyPath(sha256Hex(Buffer.from(kept))), threeHoursAgo, threeHoursAgo);

  const withoutListing = await collectGarbage(t.db, store, { now: new Date(), listStore: false });
  expect(withoutListing.unrecordedRemoved).toBe(0);
  expect(await store.has(orphan.sha256)).toBe(true);

  const result = await collectGarbage(t.db, store, { now: new Date() });
  expect(result.unrecordedRemoved).toBe(1);
  expect(await store.has(orphan.sha256)).toBe(false);
  expect(await store.has(young.sha256)).toBe(true);
  expect(await store.has(sha256Hex(Buffer.from(kept)))).toBe(true);
  expect(await rowExists(orphan.sha256)).toBe(false);
  const download = await t.app.inject({
    method: 'GET',
    url: pathUrl(user, 'kept.txt', ':/content'),
    headers: { authorization: `Bearer ${token}`, ...DIRECT_CONTENT },
  });
  expect(download.body).toBe(kept);
});

test('listing pass: staging whose session row is gone is removed; a live session keeps its staging', async () => {
  const staging = path.join(t.dataDir, 'content', 'staging');
  await mkdir(staging, { recursive: true });
  const threeHoursAgo = new Date(Date.now() - 3 * HOUR);
  const leftover = path.join(staging, randomUUID());
  await writeFile(leftover, 'bytes of a session deleted before its staging');
  await utimes(leftover, threeHoursAgo, threeHoursAgo);
  const foreign = path.join(staging, 'not-a-session');
  await writeFile(foreign, 'not ours');
  await utimes(foreign, threeHoursAgo, threeHoursAgo);

  const user = await createDriveUser(t, tenant);
  const res = await t.app.inject({
    method: 'POST',
    url: pathUrl(user, 'live.bin', ':/createUploadSession'),
    headers: { authorization: `Bearer ${token}` },
    payload: {},
  });
  const uploadPath = new URL(res.json().uploadUrl as string).pathname;
  expect(
    (
      await t.app.inject({
        method: 'PUT',
        url: uploadPath,
        payload: Buffer.from('0123456789'),
        headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-9/20' },
      })
    ).statusCode,
  ).toBe(202);
  const [live] = (await t.db.query<{ id: string }>('select id from upload_sessions where owner_user_id = $1', [user])).rows;
  const liveFile = path.join(staging, live!.id);
  await utimes(liveFile, threeHoursAgo, threeHoursAgo);

  const result = await collectGarbage(t.db, t.deps.contentStore, { now: new Date() });
  expect(result.stagingRemoved).toBe(1);
  expect(existsSync(leftover)).toBe(false);
  expect(existsSync(foreign)).toBe(true);
  expect(existsSync(liveFile)).toBe(true);
});
