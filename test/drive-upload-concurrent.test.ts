import { afterAll, beforeAll, expect, test } from 'vitest';
import { DIRECT_CONTENT, pathUrl, putFragment, sha256Hex, startDriveServer, testBytes, type DriveServer } from './support/drive-helpers.ts';

// Two clients sending the same fragment of an upload session at once (an SDK retrying a fragment
// whose answer was slow): both write the same staging region before the session's conditional
// update picks one. The file must come out whole and exact, and the loser gets a 4xx, never a 500.

let drive: DriveServer;
let origin: string;
let token: string;
let user: string;

beforeAll(async () => {
  drive = await startDriveServer();
  ({ origin, token, user } = drive);
});
afterAll(async () => {
  await drive?.close();
});

test('the same fragment sent twice at once: one is taken, the file is whole and exact, no 5xx', async () => {
  const data = testBytes(2 * 327_680, 7);
  const created = await fetch(origin + pathUrl(user, 'Docs/race.bin', ':/createUploadSession'), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(created.status).toBe(200);
  const url = drive.local(((await created.json()) as { uploadUrl: string }).uploadUrl);
  const first = data.subarray(0, 327_680);

  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all([putFragment(url, first, 0, data.length), putFragment(url, first, 0, data.length)]);
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.every((s) => s < 500),
      String(statuses),
    ).toBe(true);
    if (round === 0) expect(statuses.filter((s) => s === 202).length, String(statuses)).toBeGreaterThanOrEqual(1);
  }
  const last = await putFragment(url, data.subarray(327_680), 327_680, data.length);
  expect(last.status).toBe(201);
  const item = (await last.json()) as { id: string; size: number };
  expect(item.size).toBe(data.length);
  const got = await fetch(`${origin}/v1.0/users/${user}/drive/items/${item.id}/content`, { headers: { authorization: `Bearer ${token}`, ...DIRECT_CONTENT } });
  const body = Buffer.from(await got.arrayBuffer());
  expect(sha256Hex(body)).toBe(sha256Hex(data));
});
