import type { FastifyInstance } from 'fastify';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { freePort } from '../src/embedded/postgres.ts';
import { createPool } from '../src/db/pool.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';
import { expectGraphError, GUID } from './support/graph-assert.ts';

const TENANT = randomUUID();
const FIXED = new Date('2026-11-28T12:00:00.987Z');
let t: TestApp;
let token: string;
let fixedClock: FastifyInstance;

beforeAll(async () => {
  t = await createTestApp();
  token = await t.appToken(TENANT, ['User.Export.All', 'User.Read.All', 'User.ReadWrite.All']);
  fixedClock = await buildApp({ ...t.deps, clock: () => FIXED }, [
    (app) => {
      app.get('/boom', async () => {
        throw new Error('kaboom: connection string postgres://admin:hunter2@db/x');
      });
    },
  ]);
});
afterAll(async () => {
  await fixedClock?.close();
  await t?.close();
});

const auth = () => ({ authorization: `Bearer ${token}` });

describe('the Graph error shape (docs/architecture.md#errors)', () => {
  it('is {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}} with the exact keys and date format', async () => {
    const res = await fixedClock.inject({ method: 'GET', url: `/v1.0/users/${randomUUID()}`, headers: { ...auth(), 'client-request-id': 'abc-123' } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
    expect(res.headers['content-type']).not.toMatch(/odata/);
    const body = JSON.parse(res.body) as { error: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error)).toEqual(['code', 'message', 'innerError']);
    expect(res.body).toContain('"innerError"');
    expect(res.body).not.toContain('"innererror"');
    expect(body.error.innerError).toEqual({ date: '2026-11-28T12:00:00', 'request-id': res.headers['request-id'], 'client-request-id': 'abc-123' });
    expect(res.headers['client-request-id']).toBe('abc-123');
  });

  it('a 500 says nothing of the cause', async () => {
    const res = await fixedClock.inject({ method: 'GET', url: '/v1.0/boom', headers: auth() });
    const err = expectGraphError(res, 500, 'InternalServerError');
    expect(err.message).not.toMatch(/kaboom|hunter2|postgres/);
    expect(res.body).not.toMatch(/kaboom|hunter2|stack/);
  });

  it('every error code the foundation produces has the same shape', async () => {
    expectGraphError(await t.app.inject({ method: 'GET', url: '/v1.0/users' }), 401, 'InvalidAuthenticationToken');
    expectGraphError(
      await t.app.inject({ method: 'GET', url: '/v1.0/users', headers: { authorization: `Bearer ${await t.appToken(TENANT, [])}` } }),
      403,
      'Authorization_RequestDenied',
    );
    expectGraphError(
      await t.app.inject({ method: 'GET', url: `/beta/dataPolicyOperations/${randomUUID()}`, headers: auth() }),
      404,
      'Request_ResourceNotFound',
    );
    expectGraphError(await t.app.inject({ method: 'GET', url: '/v1.0/users?$select=bogus', headers: auth() }), 400, 'BadRequest');
    expectGraphError(
      await t.app.inject({ method: 'POST', url: `/v1.0/users/${randomUUID()}/exportPersonalData`, headers: auth(), payload: {} }),
      400,
      'InvalidStorageLocation',
    );
    expectGraphError(
      await t.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: { ...auth(), 'content-type': 'application/json' },
        payload: 'x'.repeat(1024 * 1024 + 1),
      }),
      413,
      'RequestEntityTooLarge',
    );
  });

  it('client-request-id: echoed when sane, else the request-id', async () => {
    const long = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'client-request-id': 'x'.repeat(201) } });
    expect(long.headers['client-request-id']).toBe(long.headers['request-id']);
    const none = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(none.headers['request-id']).toMatch(GUID);
    expect(none.headers['client-request-id']).toBe(none.headers['request-id']);
    const a = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(a.headers['request-id']).not.toBe(none.headers['request-id']);
  });
});

describe('routing', () => {
  it('404 Request_ResourceNotFound for unknown routes and versions', async () => {
    for (const url of ['/v1.0/nothing', '/v2.0/users', '/beta/users/x/drive/nope/deeper', '/', '/v1.0']) {
      const res = await t.app.inject({ method: 'GET', url, headers: auth() });
      expectGraphError(res, 404, 'Request_ResourceNotFound');
    }
  });

  it('405 with Allow for a wrong method on a known route', async () => {
    const cases: [string, string, string[]][] = [
      ['DELETE', `/v1.0/dataPolicyOperations/${randomUUID()}`, ['GET']],
      ['PATCH', `/beta/dataPolicyOperations/${randomUUID()}`, ['GET']],
      ['PUT', '/v1.0/users', ['GET', 'POST']],
      ['GET', `/v1.0/users/${randomUUID()}/exportPersonalData`, ['POST']],
      ['POST', '/v1.0/dataPolicyOperations', ['GET']],
      ['POST', '/healthz', ['GET']],
    ];
    for (const [method, url, allow] of cases) {
      const res = await t.app.inject({ method: method as 'GET', url, headers: auth(), payload: method === 'GET' ? undefined : {} });
      expectGraphError(res, 405, 'Request_BadRequest');
      expect(String(res.headers.allow).split(', ').sort(), `${method} ${url}`).toEqual(allow.sort());
    }
  });

  it('CORS: preflight answers, and responses expose Location, Retry-After, request-id, client-request-id', async () => {
    const pre = await t.app.inject({
      method: 'OPTIONS',
      url: `/v1.0/users/${randomUUID()}/exportPersonalData`,
      headers: {
        origin: 'https://portal.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,client-request-id',
      },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(String(pre.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(pre.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    const exposed = (h: unknown) =>
      String(h)
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .sort();
    expect(exposed(pre.headers['access-control-expose-headers'])).toEqual(['client-request-id', 'location', 'request-id', 'retry-after']);

    const user = await t.app.inject({
      method: 'POST',
      url: '/v1.0/users',
      headers: auth(),
      payload: { userPrincipalName: 'cors@contoso.com', displayName: 'Cors' },
    });
    const post = await t.app.inject({
      method: 'POST',
      url: '/v1.0/users/cors@contoso.com/exportPersonalData',
      headers: { ...auth(), origin: 'https://portal.example' },
      payload: { storageLocation: fakeSasUrl() },
    });
    expect(user.statusCode).toBe(201);
    expect(post.statusCode).toBe(202);
    expect(post.headers['access-control-allow-origin']).toBe('*');
    expect(exposed(post.headers['access-control-expose-headers'])).toEqual(['client-request-id', 'location', 'request-id', 'retry-after']);
    const err = await t.app.inject({ method: 'GET', url: '/v1.0/users', headers: { origin: 'https://portal.example' } });
    expect(err.statusCode).toBe(401);
    expect(err.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('service endpoints and database outages', () => {
  it('/healthz 200 and /readyz 200 when ready', async () => {
    const h = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(h.statusCode).toBe(200);
    expect(JSON.parse(h.body)).toEqual({ status: 'ok' });
    const r = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ready', database: true, migrations: true, draining: false });
  });

  it('/readyz 503 while draining', async () => {
    let draining = false;
    const app = await buildApp({ ...t.deps, draining: () => draining });
    try {
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      draining = true;
      const r = await app.inject({ method: 'GET', url: '/readyz' });
      expect(r.statusCode).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ status: 'not ready', draining: true, database: true });
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('database unreachable: 503 ServiceUnavailable with Retry-After on Graph routes, /readyz 503, /healthz 200', async () => {
    const port = await freePort();
    const dead = createPool(`postgres://postgres@127.0.0.1:${port}/postgres`, 2);
    const app = await buildApp({ ...t.deps, db: dead });
    try {
      const requests = [
        { method: 'GET' as const, url: '/v1.0/users' },
        { method: 'GET' as const, url: `/beta/dataPolicyOperations/${randomUUID()}` },
        { method: 'POST' as const, url: '/v1.0/users/someone@contoso.com/exportPersonalData', payload: { storageLocation: fakeSasUrl() } },
      ];
      for (const r of requests) {
        const res = await app.inject({ ...r, headers: auth() });
        const err = expectGraphError(res, 503, 'ServiceUnavailable');
        expect(err.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
        expect(res.headers['retry-after']).toBe(String(t.config.retryAfterSeconds));
      }
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({ database: false, migrations: false });
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // Authentication still comes first: no token is a 401, not a 503.
      expectGraphError(await app.inject({ method: 'GET', url: '/v1.0/users' }), 401, 'InvalidAuthenticationToken');
    } finally {
      await app.close();
      await dead.end();
    }
  });
});

describe('/.well-known/jwks.json', () => {
  it('serves only public key material, which verifies the local tokens', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    const jwks = JSON.parse(res.body) as { keys: JWK[] };
    expect(jwks.keys).toHaveLength(1);
    const key = jwks.keys[0]!;
    expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret);
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: t.issuer.issuer, audience: t.issuer.audience });
    expect(payload.tid).toBe(TENANT);
  });
});
