import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDriveUser, DIRECT_CONTENT, pathUrl, sha256Hex, testBytes } from './support/drive-helpers.ts';
import { createTestApp, PUBLIC_URL, type TestApp } from './support/harness.ts';

// Two clients sending the same fragment of an upload session at once (an SDK retrying a fragment
// whose answer was slow): both write the same staging region before the session's conditional
// update picks one. The file must come out whole and exact, and the loser gets a 4xx, never a 500.

let t: TestApp;
let origin: string;
let token: string;
let user: string;
const tenant = randomUUID();

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  origin = `http://127.0.0.1:${(t.app.server.address() as net.AddressInfo).port}`;
  token = await t.appToken(tenant, ['Files.ReadWrite.All']);
  user = await createDriveUser(t, tenant);
});
afterAll(async () => { await t.close(); });

const put = (url: string, data: Buffer, first: number, total: number) => fetch(url, {
  method: 'PUT', headers: { 'content-range': `bytes ${first}-${first + data.length - 1}/${total}` }, body: data,
});

test('the same fragment sent twice at once: one is taken, the file is whole and exact, no 5xx', async () => {
  const data = testBytes(2 * 327_680, 7);
  const created = await fetch(origin + pathUrl(user, 'Docs/race.bin', ':/createUploadSession'), {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
  });
  expect(created.status).toBe(200);
  const url = origin + ((await created.json()) as { uploadUrl: string }).uploadUrl.slice(PUBLIC_URL.length);
  const first = data.subarray(0, 327_680);

  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all([put(url, first, 0, data.length), put(url, first, 0, data.length)]);
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s < 500), String(statuses)).toBe(true);
    if (round === 0) expect(statuses.filter((s) => s === 202).length, String(statuses)).toBeGreaterThanOrEqual(1);
  }
  const last = await put(url, data.subarray(327_680), 327_680, data.length);
  expect(last.status).toBe(201);
  const item = await last.json() as { id: string; size: number };
  expect(item.size).toBe(data.length);
  const got = await fetch(`${origin}/v1.0/users/${user}/drive/items/${item.id}/content`, { headers: { authorization: `Bearer ${token}`, ...DIRECT_CONTENT } });
  const body = Buffer.from(await got.arrayBuffer());
  expect(sha256Hex(body)).toBe(sha256Hex(data));
});
