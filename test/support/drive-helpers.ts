import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createTestApp, PUBLIC_URL, type TestApp } from './harness.ts';

export function sha256Hex(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Deterministic pseudo-random bytes (fast, no crypto), so failures reproduce. */
export function testBytes(size: number, seed = 1): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i <= size - 4 ? i : size - 4);
  }
  return buf;
}

/** A user in `tenant`, created through the API; returns its id. */
export async function createDriveUser(t: TestApp, tenant: string, upnPrefix = 'u'): Promise<string> {
  const token = await t.appToken(tenant, ['User.ReadWrite.All']);
  const upn = `${upnPrefix}-${randomUUID().slice(0, 8)}@contoso.test`;
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1.0/users',
    headers: { authorization: `Bearer ${token}` },
    payload: { userPrincipalName: upn, displayName: `User ${upnPrefix}`, accountEnabled: true },
  });
  if (res.statusCode !== 201) throw new Error(`user not created: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string }>().id;
}

/** `/v1.0/users/{user}/drive/root:/{path}:{suffix}` with every segment encoded. */
export function pathUrl(user: string, path: string, suffix = ''): string {
  return `/v1.0/users/${user}/drive/root:/${path.split('/').map(encodeURIComponent).join('/')}${suffix}`;
}

/** Asks `/content` for the bytes in its own response instead of OneDrive's 302 (for clients that do not follow redirects). */
export const DIRECT_CONTENT = { prefer: 'return=representation' } as const;

/** A drive served over real HTTP: the test app listening on a free port, one user, a Files.ReadWrite.All token. */
export interface DriveServer {
  readonly t: TestApp;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly tenant: string;
  readonly user: string;
  readonly token: string;
  /** An upload session's uploadUrl (under the public URL) as a URL of this listening server. */
  local(uploadUrl: string): string;
  close(): Promise<void>;
}

export async function startDriveServer(): Promise<DriveServer> {
  const t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const tenant = randomUUID();
  return {
    t,
    origin,
    tenant,
    user: await createDriveUser(t, tenant),
    token: await t.appToken(tenant, ['Files.ReadWrite.All']),
    local: (uploadUrl) => {
      if (!uploadUrl.startsWith(`${PUBLIC_URL}/upload-sessions/`)) throw new Error(`not an upload session URL: ${uploadUrl}`);
      return origin + uploadUrl.slice(PUBLIC_URL.length);
    },
    close: () => t.close(),
  };
}

/** PUTs one fragment of an upload session, with its Content-Range. */
export function putFragment(url: string, data: Buffer, first: number, total: number, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'PUT',
    headers: { 'content-range': `bytes ${first}-${first + data.length - 1}/${total}`, ...headers },
    body: data,
  });
}
