import { GraphError, ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../src/db/queries/users.ts';
import { graphClient, listenGraph } from './support/graph-client.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';

const TENANT = randomUUID();
let t: TestApp;
let server: FastifyInstance;
let base = '';
let client: Client;
let userId: string;

function clientFor(token: string): Client {
  return graphClient(base, token);
}

beforeAll(async () => {
  t = await createTestApp();
  // A listening server whose absolute URLs name the address it really listens on.
  ({ server, base } = await listenGraph(t));
  client = clientFor(await t.appToken(TENANT, ['User.Export.All', 'User.Read.All']));
  userId = (await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: 'alex@contoso.com', display_name: 'Alex' }, new Date())).id;
});
afterAll(async () => {
  await server?.close();
  await t?.close();
});

describe('@microsoft/microsoft-graph-client 3.0.7 against a listening server', () => {
  for (const version of ['v1.0', 'beta']) {
    it(`${version}: POST exportPersonalData (RAW) gives 202 with Location and Retry-After; the operation reads back parsed`, async () => {
      const storageLocation = fakeSasUrl();
      const res = (await client
        .api(`/users/${userId}/exportPersonalData`)
        .version(version)
        .responseType(ResponseType.RAW)
        .post({ storageLocation })) as Response;
      expect(res.status).toBe(202);
      expect(await res.text()).toBe('');
      expect(res.headers.get('content-type')).toBeNull();
      const location = res.headers.get('location')!;
      expect(location).toMatch(new RegExp(`^${base}/${version.replace('.', '\\.')}/dataPolicyOperations/[0-9a-f-]{36}$`));
      expect(res.headers.get('retry-after')).toBe(String(t.config.retryAfterSeconds));
      expect(res.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('client-request-id')).toBeTruthy();

      // The client takes an absolute URL as it is only for https; over plain http, follow the id.
      const op = (await client
        .api(`/dataPolicyOperations/${location.split('/').pop()!}`)
        .version(version)
        .get()) as Record<string, unknown>;
      expect(op).toMatchObject({
        '@odata.context': `${base}/${version}/$metadata#dataPolicyOperations/$entity`,
        id: location.split('/').pop(),
        status: 'notStarted',
        progress: 0,
        userId,
        completedDateTime: null,
      });
      expect(String(op.storageLocation)).toMatch(/sig=REDACTED$/);
      const selected = (await client
        .api(`/dataPolicyOperations/${String(op.id)}`)
        .version(version)
        .select(['status', 'userId'])
        .get()) as Record<string, unknown>;
      expect(Object.keys(selected).sort()).toEqual(['@odata.context', 'status', 'userId']);
    });
  }

  it('POST by UPN without RAW resolves to an empty object (no JSON content type on the 202)', async () => {
    const res = (await client.api('/users/alex@contoso.com/exportPersonalData').version('beta').post({ storageLocation: fakeSasUrl() })) as unknown;
    expect(res === undefined || res === null || (typeof res === 'object' && Object.keys(res).length === 0)).toBe(true);
  });

  it('lists operations with paging through the client', async () => {
    const page = (await client.api('/dataPolicyOperations').top(1).get()) as { value: { id: string }[]; '@odata.nextLink'?: string };
    expect(page.value).toHaveLength(1);
    expect(page['@odata.nextLink']).toMatch(new RegExp(`^${base}/v1\\.0/dataPolicyOperations\\?`));
    const nextUrl = new URL(page['@odata.nextLink']!);
    const next = (await client.api(`/dataPolicyOperations${nextUrl.search}`).get()) as { value: { id: string }[] };
    expect(next.value).toHaveLength(1);
    expect(next.value[0]!.id).not.toBe(page.value[0]!.id);
  });

  it('a 404 raises a GraphError with statusCode and code', async () => {
    const err = await client
      .api(`/dataPolicyOperations/${randomUUID()}`)
      .get()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GraphError);
    expect(err).toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
    expect((err as GraphError).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a 400 InvalidStorageLocation and a 403 raise GraphErrors too', async () => {
    const bad = await client
      .api(`/users/${userId}/exportPersonalData`)
      .post({ storageLocation: 'http://169.254.169.254/latest' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(bad).toMatchObject({ statusCode: 400, code: 'InvalidStorageLocation' });
    const weak = clientFor(await t.appToken(TENANT, ['User.Read.All']));
    const denied = await weak
      .api(`/users/${userId}/exportPersonalData`)
      .post({ storageLocation: fakeSasUrl() })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(denied).toMatchObject({ statusCode: 403, code: 'Authorization_RequestDenied' });
    const raw = (await weak.api(`/users/${userId}/exportPersonalData`).responseType(ResponseType.RAW).post({ storageLocation: fakeSasUrl() })) as Response;
    expect(raw.status).toBe(403);
  });
});
