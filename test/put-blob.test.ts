import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { classifyStorageError, isTransientStorageError } from '../src/domain/export-failure.ts';
import { parseStorageLocation } from '../src/domain/storage-location.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { createGuardedAgent, isBlockedAddress } from '../src/export/guarded-agent.ts';
import { blobUrls } from '../src/export/package-target.ts';
import { putBlob, type PutBlobRequest } from '../src/export/put-blob.ts';
import { storageErrorFacts } from '../src/export/upload-file.ts';
import { startStorageProxy, viaOrigin } from './support/export-fixtures.ts';

// Put Blob over Node's HTTP client (src/export/put-blob.ts) against the real Azurite: what it
// stores, read back through the SDK, and its errors, which the worker's retry and failure rules
// must read as they read the SDK's.

let azurite: Azurite;
let sas: string;
const agent = new http.Agent({ keepAlive: true });
const transport = { agent, timeoutMs: 30_000 };
const request = (extra: Partial<PutBlobRequest> = {}): PutBlobRequest => ({ contentType: 'application/json', signal: new AbortController().signal, ...extra });

/** The blob's URL with the SAS, as a BlockBlobClient has it. */
const urlOf = (containerSas: string, name: string) => new ContainerClient(containerSas).getBlockBlobClient(name).url;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err as Error & { statusCode?: number; code?: string },
  );

beforeAll(async () => {
  azurite = await startAzurite();
  sas = await createContainerSas(azurite, `put-${randomUUID().slice(0, 8)}`);
});

afterAll(async () => {
  agent.destroy();
  await azurite?.stop();
});

test("blobUrls gives the URL the SDK's client of the same name has, for hostile names too", () => {
  const names = [
    'a',
    'OneDrive/Files/a b.txt',
    "it's",
    'a+b',
    '100%',
    '%41',
    '%zz',
    'a%2Fb',
    'a#b',
    'a?b=c&d',
    'ü/ñ/😀',
    '...',
    '.x/y.',
    'a\\b',
    'tab\there',
    'new\nline',
    'q"uote',
    '<>{}|^`',
    "~!*()'",
    'trailing/',
    '//double',
    ' ',
    'Ꭺ\u0000\u007f\u200e',
  ];
  const containers = [
    'http://127.0.0.1:10000/devstoreaccount1/dsr-x?sv=2025-11-05&sr=c&sp=racwl&sig=abc%2Bdef%3D',
    'https://account.blob.core.windows.net/packages?sv=2025-11-05&sr=d&sdd=2&sp=cw&sig=x%2Fy%3D',
    'HTTPS://Account.Blob.Core.Windows.NET:443/packages/?sp=cw&sig=z',
  ];
  for (const c of containers) {
    const container = new ContainerClient(c);
    const urlOf = blobUrls(c);
    for (const prefix of ['', 'case 7/export #1/'])
      for (const name of names) expect(urlOf(prefix + name)).toBe(container.getBlockBlobClient(prefix + name).url);
    // A dot segment would move the request to another path: refused (package paths have none).
    for (const name of ['..', 'x/../y', './z', 'a/.']) expect(() => urlOf(name)).toThrow(/segment/);
  }
});

test('the body becomes a block blob with its content type and disposition, under the name the SDK gives it', async () => {
  const name = 'OneDrive/Files/Ünïcode dir/a #1 %41 & b.txt';
  const body = Buffer.from('hello, storage');
  await putBlob(urlOf(sas, name), body, request({ contentType: 'text/plain', contentDisposition: 'attachment' }), transport);
  const blob = new ContainerClient(sas).getBlockBlobClient(name);
  expect(await blob.downloadToBuffer()).toEqual(body);
  const props = await blob.getProperties();
  expect(props.blobType).toBe('BlockBlob');
  expect(props.contentType).toBe('text/plain');
  expect(props.contentDisposition).toBe('attachment');
  const listed = [];
  for await (const b of new ContainerClient(sas).listBlobsFlat({ prefix: 'OneDrive/Files/Ü' })) listed.push(b.name);
  expect(listed).toEqual([name]);
});

test('an empty body and an overwrite', async () => {
  const url = urlOf(sas, 'empty.bin');
  await putBlob(url, Buffer.alloc(0), request(), transport);
  await putBlob(url, Buffer.from('now two'), request(), transport);
  expect((await new ContainerClient(sas).getBlockBlobClient('empty.bin').downloadToBuffer()).toString()).toBe('now two');
});

test("If-None-Match on a blob that exists: 409 BlobAlreadyExists, as RequestInfo.json's claim reads it; the blob is unchanged", async () => {
  const url = urlOf(sas, 'RequestInfo.json');
  await putBlob(url, Buffer.from('{"first":true}'), request({ ifNoneMatch: true }), transport);
  const err = await failure(putBlob(url, Buffer.from('{"second":true}'), request({ ifNoneMatch: true }), transport));
  expect(err.name).toBe('RestError');
  expect(storageErrorFacts(err)).toMatchObject({ statusCode: 409, errorCode: 'BlobAlreadyExists' });
  expect(isTransientStorageError(storageErrorFacts(err))).toBe(false);
  expect((await new ContainerClient(sas).getBlockBlobClient('RequestInfo.json').downloadToBuffer()).toString()).toBe('{"first":true}');
});

test("a SAS without write permission: 403 with storage's code, classified as access denied, no signature in the error", async () => {
  const readOnly = await createContainerSas(azurite, `put-ro-${randomUUID().slice(0, 8)}`, { permissions: 'rl' });
  const err = await failure(putBlob(urlOf(readOnly, 'x.json'), Buffer.from('{}'), request(), transport));
  const facts = storageErrorFacts(err);
  expect(facts.statusCode).toBe(403);
  expect(facts.errorCode).toMatch(/^Authorization/);
  const location = parseStorageLocation(readOnly, [azurite.origin]);
  expect(classifyStorageError(facts, 'write', location.sas, new Date())).toMatchObject({ kind: 'permanent', code: 'StorageLocationAccessDenied' });
  expect(`${err.message} ${JSON.stringify(err)}`).not.toMatch(/sig=/i);
});

test('a reset connection and a 503 are transient RestErrors; the code comes from the XML body when the header has none', async () => {
  const proxy = await startStorageProxy(azurite.origin);
  try {
    const url = urlOf(viaOrigin(sas, proxy.origin), 'flaky.json');
    proxy.failNext(1);
    const reset = await failure(putBlob(url, Buffer.from('{}'), request(), transport));
    expect(reset.name).toBe('RestError');
    expect(reset.statusCode).toBeUndefined();
    expect(isTransientStorageError(storageErrorFacts(reset))).toBe(true);
    proxy.failNext(1, 503);
    const busy = await failure(putBlob(url, Buffer.from('{}'), request(), transport));
    expect(storageErrorFacts(busy)).toMatchObject({ statusCode: 503, errorCode: 'ServerBusy', message: 'busy' });
    expect(isTransientStorageError(storageErrorFacts(busy))).toBe(true);
    await putBlob(url, Buffer.from('{"ok":1}'), request(), transport);
    expect(proxy.requests.filter((r) => r.method === 'PUT').map((r) => r.headers['x-ms-blob-type'])).toEqual(['BlockBlob']);
  } finally {
    await proxy.close();
  }
});

test('no answer within the time limit: a transient ETIMEDOUT', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    sockets.add(s);
    s.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = silent.address() as net.AddressInfo;
    const err = await failure(putBlob(urlOf(viaOrigin(sas, `http://127.0.0.1:${port}`), 'slow.json'), Buffer.from('{}'), request(), { agent, timeoutMs: 200 }));
    expect(storageErrorFacts(err)).toMatchObject({ statusCode: undefined, code: 'ETIMEDOUT' });
    expect(isTransientStorageError(storageErrorFacts(err))).toBe(true);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('aborted: rejects with the abort, and nothing is sent when the signal is already aborted', async () => {
  const controller = new AbortController();
  controller.abort(new Error('stopped'));
  const err = await failure(putBlob(urlOf(sas, 'never.json'), Buffer.from('{}'), request({ signal: controller.signal }), transport));
  expect(err.message).toBe('stopped');
  expect(await new ContainerClient(sas).getBlockBlobClient('never.json').exists()).toBe(false);
});

test('through the guarded agent, a host name that resolves to a private address is refused before any byte is sent', async () => {
  const guard = createGuardedAgent('http:', { allowPrivate: false });
  try {
    const url = urlOf(viaOrigin(sas, `http://localhost:${azurite.port}`), 'blocked.json');
    const err = await failure(putBlob(url, Buffer.from('{}'), request(), { agent: guard.agent, timeoutMs: 30_000 }));
    expect(isBlockedAddress(err)).toBe(true);
    expect(await new ContainerClient(sas).getBlockBlobClient('blocked.json').exists()).toBe(false);
  } finally {
    guard.destroy();
  }
});
