import { stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TestApp } from './support/harness.ts';
import { DIRECT_CONTENT, pathUrl, putFragment, sha256Hex, startDriveServer, testBytes, type DriveServer } from './support/drive-helpers.ts';

let drive: DriveServer;
let t: TestApp;
let origin: string;
let token: string;
let user: string;

beforeAll(async () => {
  drive = await startDriveServer();
  ({ t, origin, token, user } = drive);
});
afterAll(async () => {
  await drive?.close();
});

const auth = () => ({ authorization: `Bearer ${token}` });

async function download(url: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(origin + url, { headers: { ...auth(), ...DIRECT_CONTENT } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

async function createSession(path: string, body: unknown = {}): Promise<string> {
  const res = await fetch(origin + pathUrl(user, path, ':/createUploadSession'), {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { uploadUrl: string; nextExpectedRanges: string[]; expirationDateTime: string };
  expect(json.nextExpectedRanges[0]).toMatch(/^0-/);
  const ttl = Date.parse(json.expirationDateTime) - Date.now();
  expect(ttl).toBeGreaterThan(23.9 * 3600e3);
  expect(ttl).toBeLessThanOrEqual(24 * 3600e3);
  return drive.local(json.uploadUrl);
}

describe('simple upload', () => {
  test('small file: 201, read back identical, then replaced with 200 and the same id', async () => {
    const data = Buffer.from('hello drive\n');
    const res = await t.app.inject({
      method: 'PUT',
      url: pathUrl(user, 'Docs/hello.txt', ':/content'),
      headers: { ...auth(), 'content-type': 'text/plain' },
      payload: data,
    });
    expect(res.statusCode).toBe(201);
    const item = res.json();
    expect(item).toMatchObject({
      name: 'hello.txt',
      size: data.length,
      file: { mimeType: 'text/plain', hashes: { sha256Hash: sha256Hex(data).toUpperCase() } },
      parentReference: { driveId: user, path: '/drive/root:/Docs' },
      createdBy: { application: { id: expect.any(String) } },
    });
    const got = await download(`/v1.0/users/${user}/drive/items/${item.id}/content`);
    expect(got.status).toBe(200);
    expect(got.body.equals(data)).toBe(true);
    expect(got.headers.get('content-length')).toBe(String(data.length));
    expect(got.headers.get('content-type')).toBe('text/plain');
    expect(got.headers.get('etag')).toBe(`"${sha256Hex(data)}"`);

    const v2 = Buffer.from('second version');
    const res2 = await t.app.inject({ method: 'PUT', url: pathUrl(user, 'docs/HELLO.txt', ':/content'), headers: auth(), payload: v2 });
    expect(res2.statusCode).toBe(200);
    expect(res2.json()).toMatchObject({ id: item.id, name: 'hello.txt', size: v2.length });
    const byPath = await download(pathUrl(user, 'Docs/hello.txt', ':/content'));
    expect(byPath.body.equals(v2)).toBe(true);
  });

  test('a JSON file is stored as bytes, not parsed, and an empty file works', async () => {
    const json = Buffer.from('{"not": "parsed"');
    const res = await t.app.inject({
      method: 'PUT',
      url: pathUrl(user, 'a.json', ':/content'),
      headers: { ...auth(), 'content-type': 'application/json' },
      payload: json,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().file.mimeType).toBe('application/json');
    const empty = await t.app.inject({ method: 'PUT', url: pathUrl(user, 'empty.bin', ':/content'), headers: auth() });
    expect(empty.statusCode).toBe(201);
    expect(empty.json().size).toBe(0);
    expect((await download(pathUrl(user, 'empty.bin', ':/content'))).body.length).toBe(0);
  });

  test('multi-MiB file over a real connection, read back byte-identical', async () => {
    const data = testBytes(6 * 1024 * 1024 + 123, 7);
    const res = await fetch(origin + pathUrl(user, 'big/six MiB.bin', ':/content'), { method: 'PUT', headers: auth(), body: data });
    expect(res.status).toBe(201);
    const item = (await res.json()) as { id: string; size: number; file: { hashes: { sha256Hash: string } } };
    expect(item.size).toBe(data.length);
    expect(item.file.hashes.sha256Hash).toBe(sha256Hex(data).toUpperCase());
    const got = await download(`/v1.0/users/${user}/drive/items/${item.id}/content`);
    expect(sha256Hex(got.body)).toBe(sha256Hex(data));
    // Stored under its hash with fan-out folders.
    expect(await t.deps.contentStore.has(sha256Hex(data))).toBe(true);
  });

  test('a body announced over 250 MiB is refused with 413 before it is read', async () => {
    const port = Number(new URL(origin).port);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          `PUT ${pathUrl(user, 'huge.bin', ':/content')} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Type: application/octet-stream\r\nContent-Length: ${250 * 1024 * 1024 + 1}\r\n\r\n`,
        );
        socket.write(Buffer.alloc(1024));
      });
      let text = '';
      socket.on('data', (d) => {
        text += String(d);
        if (text.includes('\r\n\r\n') && text.includes('}}')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('"code":"RequestEntityTooLarge"');
    expect(answer).toContain('createUploadSession');
    const missing = await t.app.inject({ method: 'GET', url: pathUrl(user, 'huge.bin'), headers: auth() });
    expect(missing.statusCode).toBe(404);
  });

  test('PUT on a path without :/content is a 400', async () => {
    const res = await t.app.inject({ method: 'PUT', url: pathUrl(user, 'x.txt'), headers: auth(), payload: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalidRequest');
  });
});

describe('upload session', () => {
  test('fragments in order: 202 with nextExpectedRanges, then 201 and identical bytes', async () => {
    const data = testBytes(3 * 1024 * 1024 + 5, 3);
    const url = await createSession('Sessions/three.bin');
    const size = 1024 * 1024;
    for (let first = 0; first < data.length; first += size) {
      const chunk = data.subarray(first, Math.min(first + size, data.length));
      const res = await putFragment(url, chunk, first, data.length);
      const body = (await res.json()) as Record<string, unknown>;
      if (first + chunk.length < data.length) {
        expect(res.status).toBe(202);
        expect(body.nextExpectedRanges).toEqual([`${first + chunk.length}-${data.length - 1}`]);
      } else {
        expect(res.status).toBe(201);
        expect(body).toMatchObject({ name: 'three.bin', size: data.length, file: { hashes: { sha256Hash: sha256Hex(data).toUpperCase() } } });
      }
    }
    const got = await download(pathUrl(user, 'Sessions/three.bin', ':/content'));
    expect(got.body.equals(data)).toBe(true);
    // The session is gone once complete.
    expect((await fetch(url)).status).toBe(404);
  });

  test('replacing through a session answers 200 and keeps the id', async () => {
    const first = await t.app.inject({ method: 'PUT', url: pathUrl(user, 'Sessions/replace.txt', ':/content'), headers: auth(), payload: 'v1' });
    const url = await createSession('Sessions/replace.txt', { item: { '@microsoft.graph.conflictBehavior': 'replace' } });
    const res = await putFragment(url, Buffer.from('v2!'), 0, 3);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(first.json().id);
  });

  test('conflictBehavior fail refuses an existing file at creation', async () => {
    await t.app.inject({ method: 'PUT', url: pathUrl(user, 'Sessions/keep.txt', ':/content'), headers: auth(), payload: 'keep' });
    const res = await t.app.inject({
      method: 'POST',
      url: pathUrl(user, 'Sessions/keep.txt', ':/createUploadSession'),
      headers: auth(),
      payload: { item: { '@microsoft.graph.conflictBehavior': 'fail' } },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('nameAlreadyExists');
  });

  test('malformed fragment sequences get clear Graph errors and leave the session usable', async () => {
    const data = testBytes(300_000, 9);
    const url = await createSession('Sessions/malformed.bin', { item: { fileSize: data.length } });
    const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

    const noRange = await fetch(url, { method: 'PUT', body: data.subarray(0, 10) });
    expect(noRange.status).toBe(400);
    expect((await errorOf(noRange)).message).toContain('Content-Range');

    const badRange = await fetch(url, { method: 'PUT', headers: { 'content-range': 'bytes=0-9' }, body: data.subarray(0, 10) });
    expect(badRange.status).toBe(400);

    const gap = await putFragment(url, data.subarray(100, 200), 100, data.length);
    expect(gap.status).toBe(416);
    const gapError = await errorOf(gap);
    expect(gapError.code).toBe('invalidRange');
    expect(gapError.message).toContain(`nextExpectedRanges: 0-${data.length - 1}`);

    const wrongTotal = await putFragment(url, data.subarray(0, 100), 0, data.length + 1);
    expect(wrongTotal.status).toBe(400);
    expect((await errorOf(wrongTotal)).message).toContain('does not match the file size');

    const lengthMismatch = await fetch(url, { method: 'PUT', headers: { 'content-range': `bytes 0-99/${data.length}` }, body: data.subarray(0, 50) });
    expect(lengthMismatch.status).toBe(400);

    expect((await putFragment(url, data.subarray(0, 100_000), 0, data.length)).status).toBe(202);
    const overlap = await putFragment(url, data.subarray(50_000, 150_000), 50_000, data.length);
    expect(overlap.status).toBe(416);
    expect((await errorOf(overlap)).message).toContain('overlaps');
    const repeat = await putFragment(url, data.subarray(0, 100_000), 0, data.length);
    expect(repeat.status).toBe(416);

    const status = await fetch(url);
    expect(status.status).toBe(200);
    expect(((await status.json()) as { nextExpectedRanges: string[] }).nextExpectedRanges).toEqual([`100000-${data.length - 1}`]);

    expect((await putFragment(url, data.subarray(100_000), 100_000, data.length)).status).toBe(201);
    expect((await download(pathUrl(user, 'Sessions/malformed.bin', ':/content'))).body.equals(data)).toBe(true);
  });

  test('a fragment cut off mid-body is discarded and the upload resumes from nextExpectedRanges', async () => {
    const data = testBytes(2 * 1024 * 1024, 11);
    const url = await createSession('Sessions/resume.bin');
    const half = 1024 * 1024;
    expect((await putFragment(url, data.subarray(0, half), 0, data.length)).status).toBe(202);

    // Second fragment: headers and 300 KB of its 1 MiB body, then the connection drops.
    const target = new URL(url);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(target.port), target.hostname, () => {
        socket.write(
          `PUT ${target.pathname} HTTP/1.1\r\nHost: x\r\nContent-Range: bytes ${half}-${data.length - 1}/${data.length}\r\n` +
            `Content-Length: ${half}\r\n\r\n`,
        );
        socket.write(data.subarray(half, half + 300_000), () => {
          socket.destroy();
          resolve();
        });
      });
      socket.on('error', reject);
    });

    // Wait (with a deadline) until the server has written some of the cut-off fragment to staging:
    // it saw the fragment, and must not have counted it.
    const { rows } = await t.db.query<{ id: string }>(`select id from upload_sessions where item_path = '{Sessions,resume.bin}'`);
    const staging = path.join(t.dataDir, 'content', 'staging', rows[0]!.id);
    const deadline = Date.now() + 5000;
    while ((await stat(staging)).size <= half) {
      if (Date.now() > deadline) throw new Error('the cut-off fragment never reached staging');
      await new Promise((r) => setImmediate(r));
    }
    const status = await fetch(url);
    expect(((await status.json()) as { nextExpectedRanges: string[] }).nextExpectedRanges).toEqual([`${half}-${data.length - 1}`]);

    const done = await putFragment(url, data.subarray(half), half, data.length);
    expect(done.status).toBe(201);
    expect((await download(pathUrl(user, 'Sessions/resume.bin', ':/content'))).body.equals(data)).toBe(true);
  });

  test('DELETE cancels the session; an expired session is 404 and removed', async () => {
    const url = await createSession('Sessions/cancel.bin');
    expect((await putFragment(url, Buffer.from('abc'), 0, 10)).status).toBe(202);
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(204);
    const gone = await fetch(url);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('itemNotFound');

    const url2 = await createSession('Sessions/expired.bin');
    expect((await putFragment(url2, Buffer.from('abc'), 0, 10)).status).toBe(202);
    const before = await t.db.query<{ id: string }>('select id from upload_sessions');
    await t.db.query(`update upload_sessions set expires_at = now() - interval '1 second'`);
    expect((await putFragment(url2, Buffer.from('def'), 3, 10)).status).toBe(404);
    const after = await t.db.query('select id from upload_sessions');
    expect(after.rowCount).toBe(before.rowCount! - 1);
  });

  test('an upload URL with an unknown secret is 404', async () => {
    const res = await fetch(`${origin}/upload-sessions/${'A'.repeat(43)}`);
    expect(res.status).toBe(404);
  });
});
