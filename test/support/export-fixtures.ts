import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import type { ContentStore } from '../../src/content/content-store.ts';
import type { Db } from '../../src/db/pool.ts';
import { insertOperationWithAudit } from '../../src/db/queries/operations.ts';
import { checkStorageLocation } from '../../src/domain/storage-location.ts';
import type { OperationRow, Requester } from '../../src/domain/operation.ts';

export const REQUESTER: Requester = { kind: 'application', appId: '11111111-2222-3333-4444-555555555555', oid: '66666666-7777-8888-9999-000000000000' };

/** Polls `fn` until it returns a truthy value or the deadline passes (no fixed sleeps). */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

export interface SeededFile {
  path: string;
  body: Buffer;
  mimeType?: string;
}

export interface SeededUser {
  tenantId: string;
  userId: string;
  upn: string;
  itemIds: Map<string, string>;
}

/**
 * A user with a drive, activity, sign-ins and audits, written straight into the tables (the
 * drive routes are another issue's) and the file bodies into the content store.
 */
export async function seedUser(
  db: Db,
  store: ContentStore,
  opts: {
    tenantId?: string;
    files?: SeededFile[];
    signIns?: number;
    activities?: number;
    displayName?: string;
  } = {},
): Promise<SeededUser> {
  const tenantId = opts.tenantId ?? randomUUID();
  const userId = randomUUID();
  const upn = `u-${userId.slice(0, 8)}@contoso.test`;
  await db.query(
    `insert into users (tenant_id, id, user_principal_name, display_name, given_name, surname, mail, job_title, business_phones, created_at)
     values ($1, $2, $3, $4, 'Adele', 'Vance', $3, 'Engineer', '{"+1 555 0100"}', '2026-01-02T03:04:05Z')`,
    [tenantId, userId, upn, opts.displayName ?? 'Adele "AV" Vance, <b>'],
  );
  const who = { user: { id: userId, displayName: 'Adele Vance' } };
  const rootId = randomUUID();
  const itemIds = new Map<string, string>([['', rootId]]);
  await db.query(
    `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, created_at, modified_at, created_by, modified_by)
     values ($1, $2, $3, null, 'root', true, now(), now(), $4, $4)`,
    [tenantId, rootId, userId, who],
  );
  const folderOf = async (folderPath: string): Promise<string> => {
    const known = itemIds.get(folderPath);
    if (known) return known;
    const slash = folderPath.lastIndexOf('/');
    const parent = await folderOf(slash < 0 ? '' : folderPath.slice(0, slash));
    const id = randomUUID();
    await db.query(
      `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, created_at, modified_at, created_by, modified_by)
       values ($1, $2, $3, $4, $5, true, now(), now(), $6, $6)`,
      [tenantId, id, userId, parent, folderPath.slice(slash + 1), who],
    );
    itemIds.set(folderPath, id);
    return id;
  };
  for (const file of opts.files ?? []) {
    const stored = await store.put(Readable.from([file.body]));
    await db.query('insert into content_blobs (sha256, size, quick_xor_hash) values ($1, $2, $3) on conflict do nothing', [
      stored.sha256,
      stored.size,
      stored.quickXorHash,
    ]);
    const slash = file.path.lastIndexOf('/');
    const parent = await folderOf(slash < 0 ? '' : file.path.slice(0, slash));
    const id = randomUUID();
    await db.query(
      `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, mime_type, content_sha256, created_at, modified_at, created_by, modified_by)
       values ($1, $2, $3, $4, $5, false, $6, $7, $8, '2026-03-01T10:00:00Z', '2026-03-02T10:00:00Z', $9, $9)`,
      [tenantId, id, userId, parent, file.path.slice(slash + 1), stored.size, file.mimeType ?? 'application/octet-stream', stored.sha256, who],
    );
    itemIds.set(file.path, id);
  }
  const types = ['FileUploaded', 'FileModified', 'FileAccessed', 'FileDownloaded', 'FileDeleted', 'FolderCreated'];
  for (let i = 0; i < (opts.activities ?? 0); i++) {
    await db.query(
      `insert into drive_activities (tenant_id, id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id)
       values ($1, $2, $3, $4, $5, $6, null, $7, '203.0.113.7', 'Mozilla/5.0 (X11, "quoted")', 'app-1')`,
      [tenantId, randomUUID(), userId, new Date(Date.UTC(2026, 2, 1 + (i % 10), 8, i)), types[i % types.length], who, `/docs/file-${i}.txt`],
    );
  }
  for (let i = 0; i < (opts.signIns ?? 0); i++) {
    const id = randomUUID();
    const at = new Date(Date.UTC(2026, 2, 1 + i, 9, 0, 0));
    await db.query('insert into sign_ins (tenant_id, id, user_id, created_at, data) values ($1, $2, $3, $4, $5)', [
      tenantId,
      id,
      userId,
      at,
      {
        id,
        createdDateTime: at.toISOString(),
        userId,
        userPrincipalName: upn,
        appDisplayName: 'Outlook, mobile',
        ipAddress: '198.51.100.4',
        status: { errorCode: 0 },
        location: { city: 'Zürich', countryOrRegion: 'CH' },
      },
    ]);
  }
  return { tenantId, userId, upn, itemIds };
}

/** Queues an export straight in the table (what the POST route does), for storage URLs it would refuse. */
export async function queueExport(db: Db, user: SeededUser, storageLocation: string, allowedOrigins: readonly string[] = []): Promise<OperationRow> {
  let container: string;
  try {
    container = checkStorageLocation(storageLocation, { blobSuffix: '.blob.core.windows.net', allowedOrigins, minValiditySeconds: 0 }, new Date()).container;
  } catch {
    container = new URL(storageLocation).origin + new URL(storageLocation).pathname;
  }
  const id = randomUUID();
  const now = new Date();
  const row = await insertOperationWithAudit(
    db,
    {
      id,
      tenantId: user.tenantId,
      userId: user.userId,
      userPrincipalName: user.upn,
      storageLocation,
      storageContainer: container,
      requestedBy: REQUESTER,
      submittedAt: now,
    },
    { ipAddress: null },
  );
  if (!row) throw new Error('container already claimed');
  return row;
}

export async function operationRow(db: Db, id: string): Promise<OperationRow> {
  const { rows } = await db.query<OperationRow>('select * from data_policy_operations where id = $1', [id]);
  return rows[0]!;
}

export async function waitForStatus(db: Db, id: string, statuses: string[], timeoutMs = 20_000): Promise<OperationRow> {
  return waitFor(
    async () => {
      const row = await operationRow(db, id);
      return statuses.includes(row.status) ? row : undefined;
    },
    { timeoutMs, what: `operation ${id} to reach ${statuses.join('|')}` },
  );
}

/** Every blob of a container, by name, read back through the real SDK. */
export async function readContainer(sasUrl: string): Promise<Map<string, { body: Buffer; contentType: string | undefined; etag: string }>> {
  const container = new ContainerClient(sasUrl);
  const out = new Map<string, { body: Buffer; contentType: string | undefined; etag: string }>();
  for await (const blob of container.listBlobsFlat()) {
    const body = await container.getBlockBlobClient(blob.name).downloadToBuffer();
    out.set(blob.name, { body, contentType: blob.properties.contentType, etag: blob.properties.etag ?? '' });
  }
  return out;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** Storage's refusal of a request, as its REST API answers one. */
export interface StorageRefusal {
  readonly status: number;
  readonly code: string;
}

/**
 * An HTTP proxy in front of Azurite: records what storage was asked (method, blob path,
 * headers) and can fail requests to simulate an outage — `failNext(n)` resets the next n
 * connections' requests, `status` answers them with that status instead. Azurite behind it
 * stays the real thing. `authorize`, if given, decides each request instead of Azurite's own
 * check: a refusal, or the path and query to forward (for an authorization Azurite lacks).
 */
export async function startStorageProxy(
  targetOrigin: string,
  opts: {
    authorize?: (method: string, url: URL) => StorageRefusal | string;
  } = {},
): Promise<{
  origin: string;
  requests: RecordedRequest[];
  failNext(n: number, mode?: 'reset' | number): void;
  /** The next request matching `method` and `path` reaches storage, but its answer is lost (reset). */
  loseAnswerOnce(method: string, path: RegExp): void;
  close(): Promise<void>;
}> {
  const target = new URL(targetOrigin);
  const requests: RecordedRequest[] = [];
  let failures = 0;
  let failMode: 'reset' | number = 'reset';
  let loseAnswer: { method: string; path: RegExp } | undefined;
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    if (failures > 0) {
      failures--;
      req.resume();
      if (failMode === 'reset') req.socket.destroy();
      else
        res
          .writeHead(failMode, { 'content-type': 'application/xml' })
          .end('<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>');
      return;
    }
    const url = new URL(req.url ?? '/', targetOrigin);
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? '', path, headers: req.headers });
    const decision = opts.authorize ? opts.authorize(req.method ?? '', url) : (req.url ?? '/');
    if (typeof decision !== 'string') {
      req.resume();
      res.writeHead(decision.status, { 'content-type': 'application/xml', 'x-ms-error-code': decision.code });
      res.end(
        req.method === 'HEAD'
          ? undefined
          : `<?xml version="1.0" encoding="utf-8"?><Error><Code>${decision.code}</Code><Message>${decision.code}</Message></Error>`,
      );
      return;
    }
    const lose = loseAnswer !== undefined && loseAnswer.method === req.method && loseAnswer.path.test(path);
    if (lose) loseAnswer = undefined;
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: decision,
        headers: req.headers,
        agent,
      },
      (up) => {
        if (lose) {
          up.resume();
          up.once('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    failNext(n, mode = 'reset') {
      failures = n;
      failMode = mode;
    },
    loseAnswerOnce(method, path) {
      loseAnswer = { method, path };
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The SAS URL with its origin swapped (e.g. to go through the proxy); the signature does not cover the host. */
export function viaOrigin(sasUrl: string, origin: string): string {
  const u = new URL(sasUrl);
  const o = new URL(origin);
  u.protocol = o.protocol;
  u.host = o.host;
  return u.toString();
}
