import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../src/config.ts';
import { countRows, expectGraphError } from './support/graph-assert.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';

// Issue 7, item 1: what test/auth.test.ts does not already cover. Key-location headers that point
// elsewhere (jku, x5u, an embedded jwk, a kid that is a path or a URL) must neither be followed
// nor trusted, and a token missing iss, aud or exp is refused. Nothing is written by a refused
// request, and the attacker's key server never sees a request.

const TENANT = randomUUID();
const nowSec = () => Math.floor(Date.now() / 1000);

let t: TestApp;
let userId: string;
let localJwk: JWK;
let attacker: { privateJwk: JWK; publicJwk: JWK };
let keyServer: http.Server;
let keyServerUrl: string;
const keyServerHits: string[] = [];

beforeAll(async () => {
  t = await createTestApp();
  localJwk = JSON.parse(await readFile(path.join(t.dataDir, 'keys', 'local-issuer.json'), 'utf8')) as JWK;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  attacker = {
    privateJwk: { ...(await exportJWK(privateKey)), kid: localJwk.kid! },
    publicJwk: { ...(await exportJWK(publicKey)), kid: localJwk.kid!, alg: 'RS256', use: 'sig' },
  };
  // The attacker's JWKS endpoint: any request to it means the service followed a header.
  keyServer = http.createServer((req, res) => {
    keyServerHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.publicJwk] }));
  });
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
  keyServerUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
  const created = await t.app.inject({
    method: 'POST',
    url: '/v1.0/users',
    headers: { authorization: `Bearer ${await t.appToken(TENANT, ['User.ReadWrite.All'])}` },
    payload: { userPrincipalName: 'target@contoso.test', displayName: 'Target' },
  });
  expect(created.statusCode, created.body).toBe(201);
  userId = created.json<{ id: string }>().id;
});

afterAll(async () => {
  await new Promise<void>((r) => keyServer?.close(() => r()));
  await t?.close();
});

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const app = randomUUID();
  return {
    iss: LOCAL_ISSUER,
    aud: LOCAL_AUDIENCE,
    iat: nowSec(),
    exp: nowSec() + 3600,
    tid: TENANT,
    oid: app,
    sub: app,
    azp: app,
    idtyp: 'app',
    roles: ['User.Export.All', 'User.Read.All'],
    ...extra,
  };
}

async function sign(payload: Record<string, unknown>, header: Record<string, unknown>, key: JWK = attacker.privateJwk): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...header }).sign(await importJWK(key, 'RS256'));
}

async function expectUnauthorized(token: string): Promise<void> {
  const before = await countRows(t.db, 'data_policy_operations');
  const post = await t.app.inject({
    method: 'POST',
    url: `/v1.0/users/${userId}/exportPersonalData`,
    headers: { authorization: `Bearer ${token}` },
    payload: { storageLocation: fakeSasUrl() },
  });
  expectGraphError(post, 401, 'InvalidAuthenticationToken');
  const get = await t.app.inject({ method: 'GET', url: `/beta/users/${userId}`, headers: { authorization: `Bearer ${token}` } });
  expectGraphError(get, 401, 'InvalidAuthenticationToken');
  expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
}

describe('key-location headers are neither followed nor trusted', () => {
  it('jku and x5u pointing at an attacker key server, with the local kid', async () => {
    await expectUnauthorized(await sign(claims(), { kid: localJwk.kid, jku: `${keyServerUrl}/jwks.json` }));
    await expectUnauthorized(await sign(claims(), { kid: localJwk.kid, x5u: `${keyServerUrl}/cert.pem` }));
    await expectUnauthorized(await sign(claims(), { jku: `${keyServerUrl}/jwks.json` }));
    expect(keyServerHits).toEqual([]);
  });

  it("an embedded jwk header carrying the attacker's own public key", async () => {
    await expectUnauthorized(await sign(claims(), { kid: localJwk.kid, jwk: attacker.publicJwk }));
    await expectUnauthorized(await sign(claims(), { jwk: attacker.publicJwk }));
  });

  it('a kid that is a path, a URL or an injection attempt', async () => {
    for (const kid of ['../../keys/local-issuer.json', `${keyServerUrl}/jwks.json`, "' or 1=1 --", '*', '', localJwk.kid!.toUpperCase()]) {
      await expectUnauthorized(await sign(claims(), { kid }));
      // Even signed with the real key, a kid that names no key of the issuer is refused.
      if (kid !== '') await expectUnauthorized(await sign(claims(), { kid }, localJwk));
    }
    expect(keyServerHits).toEqual([]);
  });

  it('the untouched local token still works (the refusals above are not an outage)', async () => {
    const good = await sign(claims(), { kid: localJwk.kid }, localJwk);
    const res = await t.app.inject({ method: 'GET', url: `/v1.0/users/${userId}`, headers: { authorization: `Bearer ${good}` } });
    expect(res.statusCode, res.body).toBe(200);
  });
});

describe('missing registered claims', () => {
  it('a token without iss, without aud, or with exp as a string is refused', async () => {
    for (const drop of ['iss', 'aud']) {
      const c = claims();
      delete c[drop];
      await expectUnauthorized(await sign(c, { kid: localJwk.kid }, localJwk));
    }
    await expectUnauthorized(await sign(claims({ exp: String(nowSec() + 3600) }), { kid: localJwk.kid }, localJwk));
    await expectUnauthorized(await sign(claims({ aud: [] }), { kid: localJwk.kid }, localJwk));
  });

  it('a token without oid or sub never causes a 5xx', async () => {
    const c = claims();
    delete c.oid;
    delete c.sub;
    const token = await sign(c, { kid: localJwk.kid }, localJwk);
    const post = await t.app.inject({
      method: 'POST',
      url: `/v1.0/users/${userId}/exportPersonalData`,
      headers: { authorization: `Bearer ${token}` },
      payload: { storageLocation: fakeSasUrl() },
    });
    // The app is still named by azp; a 5xx (an unchecked undefined) is the failure mode.
    expect([202, 401, 403], post.body).toContain(post.statusCode);
  });
});
