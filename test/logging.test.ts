import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { insertUser } from '../src/db/queries/users.ts';
import { createLogger, redactSecrets } from '../src/logger.ts';
import { createTestApp, type TestApp } from './support/harness.ts';

const SIG = 'U2VjcmV0U2lnbmF0dXJlVmFsdWUxMjM0NTY3ODkw%2B%2F%3D';
const SIG_DECODED = 'U2VjcmV0U2lnbmF0dXJlVmFsdWUxMjM0NTY3ODkw';
const TENANT = randomUUID();

function sasUrl(container = `c${randomUUID().slice(0, 8)}`): string {
  const se = new Date(Date.now() + 7200_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `https://acct.blob.core.windows.net/${container}?sv=2025-05-05&sr=c&sp=racwl&se=${se}&sig=${SIG}`;
}

let t: TestApp;
let app: FastifyInstance;
let token: string;
const lines: string[] = [];

beforeAll(async () => {
  t = await createTestApp();
  token = await t.appToken(TENANT, ['User.Export.All', 'User.Read.All']);
  await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: 'logged@contoso.com', display_name: 'Logged' }, new Date());
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger('debug', sink);
  app = await buildApp({ ...t.deps, logger }, [
    (graph) => {
      // Call sites that carelessly log secrets: the logger must scrub them anyway.
      graph.post('/careless', async (request) => {
        const body = request.body as { storageLocation: string };
        request.log.info(
          { storageLocation: body.storageLocation, headers: request.headers, target: { storageLocation: body.storageLocation } },
          `submitting to ${body.storageLocation}`,
        );
        request.log.warn(`token was ${request.headers.authorization ?? ''}; bare ${token}; url &amp;sig=${SIG}`);
        throw new Error(`upload to ${body.storageLocation} failed with ${request.headers.authorization ?? ''}`);
      });
    },
  ]);
});
afterAll(async () => {
  await app?.close();
  await t?.close();
});

describe('the log never holds a SAS signature or a token', () => {
  it('export POST, a 400, a 500 and a query with sig: no line holds a secret', async () => {
    const headers = { authorization: `Bearer ${token}`, 'client-request-id': 'log-test' };
    const ok = await app.inject({ method: 'POST', url: '/v1.0/users/logged@contoso.com/exportPersonalData', headers, payload: { storageLocation: sasUrl() } });
    expect(ok.statusCode, lines.filter((l) => l.includes('request failed')).join('\n')).toBe(202);
    const expiring = sasUrl().replace(/se=[^&]+/, `se=${new Date(Date.now() + 60_000).toISOString()}`);
    const bad = await app.inject({ method: 'POST', url: '/beta/users/logged@contoso.com/exportPersonalData', headers, payload: { storageLocation: expiring } });
    expect(bad.statusCode).toBe(400);
    const forbidden = await app.inject({
      method: 'POST',
      url: '/v1.0/users/logged@contoso.com/exportPersonalData',
      headers: { authorization: `Bearer ${await t.appToken(TENANT, [])}` },
      payload: { storageLocation: sasUrl() },
    });
    expect(forbidden.statusCode).toBe(403);
    const boom = await app.inject({ method: 'POST', url: '/v1.0/careless', headers, payload: { storageLocation: sasUrl() } });
    expect(boom.statusCode).toBe(500);
    const query = await app.inject({ method: 'GET', url: `/v1.0/users?sig=${SIG}&x=1`, headers });
    expect(query.statusCode).toBe(200);
    const badToken = await app.inject({ method: 'GET', url: '/v1.0/users', headers: { authorization: `Bearer ${token}x` } });
    expect(badToken.statusCode).toBe(401);

    expect(lines.length).toBeGreaterThan(10);
    const [, , signature] = token.split('.');
    for (const line of lines) {
      expect(() => JSON.parse(line), line).not.toThrow();
      expect(line).not.toContain(SIG_DECODED);
      expect(line).not.toContain(token);
      expect(line).not.toContain(signature!);
    }
    const all = lines.join('\n');
    // The lines are there, scrubbed rather than dropped.
    expect(all).toContain('sig=REDACTED');
    expect(all).toMatch(/REDACTED/);
    expect(all).toContain('export accepted');
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request failed');
    expect(failed).toMatchObject({ level: 50, code: 'InternalServerError', reqId: boom.headers['request-id'] });
    const accepted = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'export accepted');
    expect(accepted).toMatchObject({ reqId: ok.headers['request-id'], tenantId: TENANT, operationId: String(ok.headers.location).split('/').pop() });
  });
});

describe('redactSecrets', () => {
  it('scrubs sig values in URLs, also HTML-escaped', () => {
    expect(redactSecrets('GET https://a.blob.core.windows.net/c?sv=1&sig=abc%2Bd%3D&sp=cw')).toBe(
      'GET https://a.blob.core.windows.net/c?sv=1&sig=REDACTED&sp=cw',
    );
    expect(redactSecrets('{"url":"https://a/c?sig=abc"}')).toBe('{"url":"https://a/c?sig=REDACTED"}');
    expect(redactSecrets('x?SIG=abc y')).toBe('x?SIG=REDACTED y');
    expect(redactSecrets('a&amp;sig=abc&amp;sp=r')).toBe('a&amp;sig=REDACTED&amp;sp=r');
  });

  it('scrubs sig spelled with percent-encoding, and inside a URL-encoded URL', () => {
    expect(redactSecrets('https://a/c?sv=1&%73ig=abc')).not.toContain('abc');
    expect(redactSecrets('https://a/c?sv=1&%73%69%67=abc')).not.toContain('abc');
    expect(redactSecrets('/verify?url=https%3A%2F%2Fa%2Fc%3Fsv%3D1%26sig%3Dabc%252B%26sp%3Dcw')).not.toContain('abc');
  });

  it('scrubs the secret of an upload session URL and of a download URL', () => {
    expect(redactSecrets('PUT /upload-sessions/Zm9vYmFy-_x1 200')).toBe('PUT /upload-sessions/REDACTED 200');
    expect(redactSecrets('GET /downloads/eyJ0ZW5h-_x.q1_-Zz 200')).toBe('GET /downloads/REDACTED 200');
    expect(redactSecrets('"url":"/downloads/requests/eyJ0ZW5h.q1_-Zz?x"')).toBe('"url":"/downloads/requests/REDACTED?x"');
  });

  it('scrubs bearer tokens, bare JWTs and account keys', () => {
    expect(redactSecrets('Authorization: Bearer abc.def-ghi_jkl')).toBe('Authorization: Bearer REDACTED');
    expect(redactSecrets('authorization: bearer xyz')).toBe('authorization: bearer REDACTED');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl';
    expect(redactSecrets(`token ${jwt} end`)).toBe('token REDACTED.JWT end');
    expect(redactSecrets('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc+def==;EndpointSuffix=core.windows.net')).toBe(
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=REDACTED;EndpointSuffix=core.windows.net',
    );
  });

  it('leaves ordinary text alone', () => {
    for (const s of ['{"msg":"incoming request","url":"/v1.0/users?$top=5"}', 'signature verified', 'design=ok&sigma=1', 'eyJ alone']) {
      expect(redactSecrets(s)).toBe(s);
    }
  });
});
