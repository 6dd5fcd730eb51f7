import { createLocalJWKSet, jwtVerify } from 'jose';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startNotificationDelivery, type NotificationDelivery } from '../src/subscriptions/delivery.ts';
import { NOTIFICATION_ISSUER } from '../src/subscriptions/notification-payload.ts';
import { validateEndpoint } from '../src/subscriptions/validate-endpoint.ts';
import { WebhookClient } from '../src/subscriptions/webhook-client.ts';
import { GRAPH_JSON } from '../src/http/graph-reply.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';
import { NotificationReceiver } from './support/notification-receiver.ts';

let t: TestApp;
let receiver: NotificationReceiver;
const EXPORT_ROLES = ['User.Export.All', 'User.Read.All'];

beforeAll(async () => {
  receiver = await NotificationReceiver.start();
  t = await createTestApp({ DSR_NOTIFICATION_ALLOW: receiver.origin });
});

afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

function inHours(h: number): string {
  return new Date(Date.now() + h * 3_600_000).toISOString();
}

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: unknown) {
  return t.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

/** A user of `tenant` and an export POST for it (nothing runs it: no worker here); returns the operation id. */
async function exportFor(tenant: string, token: string): Promise<string> {
  const user = randomUUID();
  await t.db.query('insert into users (tenant_id, id, user_principal_name) values ($1, $2, $3)', [tenant, user, `u-${user.slice(0, 8)}@contoso.test`]);
  const post = await call('POST', `/v1.0/users/${user}/exportPersonalData`, token, { storageLocation: fakeSasUrl() });
  expect(post.statusCode, post.body).toBe(202);
  return post.headers.location!.split('/').pop()!;
}

function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    changeType: 'created,updated',
    notificationUrl: receiver.url(),
    resource: 'dataPolicyOperations',
    expirationDateTime: inHours(24),
    clientState: 'secret-state',
    ...overrides,
  };
}

async function createSubscription(tenant: string, overrides: Record<string, unknown> = {}) {
  const token = await t.appToken(tenant, EXPORT_ROLES);
  const res = await call('POST', '/v1.0/subscriptions', token, body(overrides));
  expect(res.statusCode, res.body).toBe(201);
  return { token, subscription: res.json<Record<string, unknown> & { id: string }>() };
}

describe('the subscription resource', () => {
  test('create, get, list, renew and delete under /v1.0 and /beta with Graph shapes', async () => {
    const tenant = randomUUID();
    const before = receiver.validations.length;
    const expiration = inHours(48);
    const { token, subscription } = await createSubscription(tenant, { expirationDateTime: expiration, latestSupportedTlsVersion: 'v1_3' });
    expect(receiver.validations.length).toBe(before + 1);
    expect(subscription).toEqual({
      '@odata.context': 'http://dsr.test/v1.0/$metadata#subscriptions/$entity',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      resource: 'dataPolicyOperations',
      applicationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      changeType: 'created,updated',
      clientState: 'secret-state',
      notificationUrl: receiver.url(),
      lifecycleNotificationUrl: null,
      expirationDateTime: expiration.replace(/\.000Z$/, 'Z'),
      creatorId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      latestSupportedTlsVersion: 'v1_3',
      notificationUrlAppId: null,
    });

    const get = await call('GET', `/beta/subscriptions/${subscription.id}`, token);
    expect(get.statusCode).toBe(200);
    expect(get.headers['content-type']).toBe(GRAPH_JSON);
    expect(get.json()).toEqual({ ...subscription, '@odata.context': 'http://dsr.test/beta/$metadata#subscriptions/$entity' });

    const list = await call('GET', '/v1.0/subscriptions', token);
    const entity: Record<string, unknown> = { ...subscription };
    delete entity['@odata.context'];
    expect(list.json()).toEqual({ '@odata.context': 'http://dsr.test/v1.0/$metadata#subscriptions', value: [entity] });

    const renewed = inHours(60);
    const patch = await call('PATCH', `/v1.0/subscriptions/${subscription.id}`, token, { expirationDateTime: renewed });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json().expirationDateTime).toBe(renewed.replace(/\.000Z$/, 'Z'));
    // A renewal alone does not repeat the handshake.
    expect(receiver.validations.length).toBe(before + 1);

    const del = await call('DELETE', `/v1.0/subscriptions/${subscription.id}`, token);
    expect(del.statusCode).toBe(204);
    const gone = await call('GET', `/v1.0/subscriptions/${subscription.id}`, token);
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error).toMatchObject({ code: 'ResourceNotFound', message: 'The object was not found.' });
    expect((await call('DELETE', `/v1.0/subscriptions/${subscription.id}`, token)).statusCode).toBe(404);
  });

  test('list pages with @odata.nextLink', async () => {
    const tenant = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createSubscription(tenant)).subscription.id);
    const token = await t.appToken(tenant, EXPORT_ROLES);
    const first = (await call('GET', '/v1.0/subscriptions?$top=2', token)).json();
    expect(first.value.map((s: { id: string }) => s.id)).toEqual(ids.slice(0, 2));
    const next = first['@odata.nextLink'].replace('http://dsr.test', '');
    const second = (await call('GET', next, token)).json();
    expect(second.value.map((s: { id: string }) => s.id)).toEqual(ids.slice(2));
    expect(second['@odata.nextLink']).toBeUndefined();
  });

  test('a notificationUrl update is validated again; a failing endpoint leaves the subscription as it was', async () => {
    const { token, subscription } = await createSubscription(randomUUID());
    const before = receiver.validations.length;
    const moved = await call('PATCH', `/v1.0/subscriptions/${subscription.id}`, token, { notificationUrl: receiver.url('/moved') });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json().notificationUrl).toBe(receiver.url('/moved'));
    expect(receiver.validations.slice(before)).toEqual(['/moved']);

    receiver.behaviour.validation = 'status-500';
    try {
      const refused = await call('PATCH', `/v1.0/subscriptions/${subscription.id}`, token, { notificationUrl: receiver.url('/broken') });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.code).toBe('InvalidRequest');
    } finally {
      receiver.behaviour.validation = 'echo';
    }
    const after = (await call('GET', `/v1.0/subscriptions/${subscription.id}`, token)).json();
    expect(after.notificationUrl).toBe(receiver.url('/moved'));
    const other = await call('PATCH', `/v1.0/subscriptions/${subscription.id}`, token, { resource: 'dataPolicyOperations' });
    expect(other.statusCode).toBe(400);
  });
});

describe('the validation handshake', () => {
  test.each([
    ['wrong-token', /Response must exactly match validationToken/],
    ['status-500', /must respond with 200 OK.*HTTP 500/],
    ['json', /content type text\/plain; it was 'application\/json'/],
    ['redirect', /must respond with 200 OK.*HTTP 302/],
  ] as const)('an endpoint answering %s refuses the subscription with 400 and stores nothing', async (behaviour, message) => {
    const tenant = randomUUID();
    const token = await t.appToken(tenant, EXPORT_ROLES);
    receiver.behaviour.validation = behaviour;
    try {
      const res = await call('POST', '/v1.0/subscriptions', token, body());
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('InvalidRequest');
      expect(res.json().error.message).toMatch(/^Subscription validation request failed/);
      expect(res.json().error.message).toMatch(message);
    } finally {
      receiver.behaviour.validation = 'echo';
    }
    expect((await call('GET', '/v1.0/subscriptions', token)).json().value).toEqual([]);
  });

  test('an endpoint that refuses the connection is named as such, without its URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const local = await createTestApp({ DSR_NOTIFICATION_ALLOW: `http://127.0.0.1:${port}` });
    try {
      const token = await local.appToken(randomUUID(), EXPORT_ROLES);
      const res = await local.app.inject({
        method: 'POST',
        url: '/v1.0/subscriptions',
        headers: { authorization: `Bearer ${token}` },
        payload: body({ notificationUrl: `http://127.0.0.1:${port}/hook?code=hook-secret` }),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/ECONNREFUSED/);
      expect(res.body).not.toContain('hook-secret');
    } finally {
      await local.close();
    }
  });

  test('a name that resolves to a private address is refused at connection time (DNS checked on every connection)', async () => {
    const client = new WebhookClient([], async () => [{ address: '10.0.0.7', family: 4 }]);
    try {
      const answer = await client.post('https://hooks.contoso.example/x?code=s', undefined, undefined, 2000);
      expect(answer).toEqual({ kind: 'blocked', message: expect.stringMatching(/private/) });
      await expect(validateEndpoint(client, 'notificationUrl', 'https://hooks.contoso.example/x')).rejects.toMatchObject({
        status: 400,
        code: 'InvalidRequest',
        message: expect.stringMatching(/resolves to a loopback, private/),
      });
    } finally {
      client.close();
    }
  });

  test('an endpoint that does not answer in time fails the handshake (10 s in service, shortened here)', async () => {
    const client = new WebhookClient([receiver.origin]);
    receiver.behaviour.validation = 'hang';
    try {
      await expect(validateEndpoint(client, 'notificationUrl', receiver.url('/slow'), 300)).rejects.toMatchObject({
        status: 400,
        code: 'InvalidRequest',
        message: expect.stringMatching(/the validation request timed out \(no answer within 0.3 s\)/),
      });
    } finally {
      receiver.behaviour.validation = 'echo';
      client.close();
      receiver.dropConnections();
    }
  });

  test('the lifecycleNotificationUrl is validated too', async () => {
    const before = receiver.validations.length;
    const { subscription } = await createSubscription(randomUUID(), { lifecycleNotificationUrl: receiver.url('/lifecycle') });
    expect(subscription.lifecycleNotificationUrl).toBe(receiver.url('/lifecycle'));
    expect(receiver.validations.slice(before)).toEqual(['/hook', '/lifecycle']);
  });
});

describe('refused requests', () => {
  test.each([
    ['http outside DSR_NOTIFICATION_ALLOW', { notificationUrl: 'http://hooks.example.com/x' }, /must use the HTTPS protocol/],
    ['a loopback IP', { notificationUrl: 'https://127.0.0.1/x' }, /loopback, private, link-local/],
    ['a private IP', { notificationUrl: 'https://10.1.2.3/x' }, /loopback, private, link-local/],
    ['the metadata address', { notificationUrl: 'https://169.254.169.254/latest' }, /loopback, private, link-local/],
    ['an IPv6 loopback', { notificationUrl: 'https://[::1]/x' }, /loopback, private, link-local/],
    ['a mapped IPv4 loopback', { notificationUrl: 'https://[::ffff:127.0.0.1]/x' }, /loopback, private, link-local/],
    ['localhost', { notificationUrl: 'https://localhost/x' }, /loopback/],
    ['user information', { notificationUrl: 'https://user:pw@hooks.example.com/x' }, /user information/],
    ['not a URL', { notificationUrl: 'hooks' }, /not an absolute URL/],
    ['a private lifecycle URL', { lifecycleNotificationUrl: 'https://192.168.1.1/x' }, /lifecycleNotificationUrl points to/],
    ['a missing notificationUrl', { notificationUrl: undefined }, /notificationUrl is a required property/],
    ['clientState over 128 characters', { clientState: 'x'.repeat(129) }, /clientState is 129 characters long; the maximum length is 128/],
    ['an expiration in the past', { expirationDateTime: inHours(-1) }, /must be in the future/],
    ['an expiration beyond 3 days', { expirationDateTime: inHours(73) }, /can only be 4320 minutes in the future/],
    ['no expiration', { expirationDateTime: undefined }, /expirationDateTime is a required property/],
    ['a bad date', { expirationDateTime: 'tomorrow' }, /DateTimeOffset/],
    ['an unknown changeType', { changeType: 'created,renamed' }, /Invalid changeType 'renamed'/],
    ['an unsupported resource', { resource: 'users' }, /Resource 'users' is not supported/],
    ['an operation that does not exist', { resource: `dataPolicyOperations/${randomUUID()}` }, /does not exist in this tenant/],
    ['includeResourceData', { includeResourceData: true }, /includeResourceData is not supported/],
    ['an unknown property', { color: 'blue' }, /Property 'color' cannot be set/],
    ['a bad TLS version', { latestSupportedTlsVersion: 'v2' }, /latestSupportedTlsVersion must be one of/],
  ])('%s: 400 InvalidRequest, nothing contacted or stored', async (_name, overrides, message) => {
    const tenant = randomUUID();
    const token = await t.appToken(tenant, EXPORT_ROLES);
    const before = receiver.validations.length;
    const res = await call('POST', '/v1.0/subscriptions', token, body(overrides));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe('InvalidRequest');
    expect(res.json().error.message).toMatch(message);
    expect(receiver.validations.length).toBe(before);
    expect((await call('GET', '/v1.0/subscriptions', token)).json().value).toEqual([]);
  });

  test('clientState of exactly 128 characters is accepted', async () => {
    const { subscription } = await createSubscription(randomUUID(), { clientState: 'y'.repeat(128) });
    expect(subscription.clientState).toBe('y'.repeat(128));
  });

  test('the maximum expiration is configurable', async () => {
    const short = await createTestApp({ DSR_NOTIFICATION_ALLOW: receiver.origin, DSR_SUBSCRIPTION_MAX_EXPIRATION: '1h' });
    try {
      const token = await short.appToken(randomUUID(), EXPORT_ROLES);
      const res = await short.app.inject({
        method: 'POST',
        url: '/v1.0/subscriptions',
        headers: { authorization: `Bearer ${token}` },
        payload: body({ expirationDateTime: inHours(2) }),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/can only be 60 minutes in the future/);
    } finally {
      await short.close();
    }
  });

  test('watching operations needs the permissions that reading them needs', async () => {
    const tenant = randomUUID();
    const { subscription } = await createSubscription(tenant);
    const weak = await t.appToken(tenant, ['User.Read.All']);
    const create = await call('POST', '/v1.0/subscriptions', weak, body());
    expect(create.statusCode).toBe(403);
    expect(create.json().error.code).toBe('Authorization_RequestDenied');
    expect((await call('GET', `/v1.0/subscriptions/${subscription.id}`, weak)).statusCode).toBe(403);
    expect((await call('GET', '/v1.0/subscriptions', weak)).statusCode).toBe(403);
    expect((await call('DELETE', `/v1.0/subscriptions/${subscription.id}`, weak)).statusCode).toBe(403);
    const nonAdmin = await t.userToken(tenant, randomUUID(), EXPORT_ROLES, false);
    expect((await call('GET', `/v1.0/subscriptions/${subscription.id}`, nonAdmin)).statusCode).toBe(403);
  });

  test('another tenant can neither see, change nor delete a subscription, nor watch an operation it does not own', async () => {
    const owner = randomUUID();
    const { token: ownerToken, subscription } = await createSubscription(owner);
    const intruder = await t.appToken(randomUUID(), EXPORT_ROLES);
    expect((await call('GET', `/v1.0/subscriptions/${subscription.id}`, intruder)).statusCode).toBe(404);
    expect((await call('PATCH', `/v1.0/subscriptions/${subscription.id}`, intruder, { expirationDateTime: inHours(5) })).statusCode).toBe(404);
    expect((await call('DELETE', `/v1.0/subscriptions/${subscription.id}`, intruder)).statusCode).toBe(404);
    expect((await call('GET', '/v1.0/subscriptions', intruder)).json().value).toEqual([]);
    expect((await call('GET', `/v1.0/subscriptions/${subscription.id}`, ownerToken)).statusCode).toBe(200);

    const operationId = await exportFor(owner, ownerToken);
    const watch = await call('POST', '/v1.0/subscriptions', intruder, body({ resource: `dataPolicyOperations/${operationId}` }));
    expect(watch.statusCode).toBe(400);
    expect(watch.json().error.message).toMatch(/does not exist in this tenant/);
    const own = await call('POST', '/v1.0/subscriptions', ownerToken, body({ resource: `dataPolicyOperations/${operationId}` }));
    expect(own.statusCode).toBe(201);
  });
});

describe('notifications from the outbox', () => {
  let delivery: NotificationDelivery | undefined;
  afterAll(async () => {
    await delivery?.stop();
  });

  test('an export POST writes its created notification in its own transaction; it arrives with a validationTokens JWT the served JWKS verifies', async () => {
    const tenant = randomUUID();
    const appId = randomUUID();
    const token = await t.appToken(tenant, EXPORT_ROLES);
    const path = `/created-${randomUUID().slice(0, 8)}`;
    const { subscription } = await createSubscription(tenant, {
      changeType: 'created',
      notificationUrl: receiver.url(path),
      notificationUrlAppId: appId,
    });
    const operationId = await exportFor(tenant, token);
    const { rows } = await t.db.query('select change_type, resource from notification_outbox where subscription_id = $1', [subscription.id]);
    expect(rows).toEqual([{ change_type: 'created', resource: `dataPolicyOperations/${operationId}` }]);

    delivery = await startNotificationDelivery({ config: t.config, db: t.db, workerId: 'test-delivery' });
    await receiver.waitFor(() => receiver.items(path).length > 0, 'the created notification');
    const [batch] = receiver.batches.filter((b) => b.path === path);
    expect(batch!.value).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        subscriptionId: subscription.id,
        subscriptionExpirationDateTime: subscription.expirationDateTime,
        tenantId: tenant,
        clientState: 'secret-state',
        changeType: 'created',
        resource: `dataPolicyOperations/${operationId}`,
        resourceData: { '@odata.type': '#microsoft.graph.dataPolicyOperation', '@odata.id': `dataPolicyOperations/${operationId}`, id: operationId },
      },
    ]);
    // Nothing about the subject or the storage: no SAS, no user.
    expect(JSON.stringify(batch)).not.toMatch(/sig=|blob\.core|contoso/);

    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    const { payload } = await jwtVerify(batch!.validationTokens![0]!, createLocalJWKSet(jwks), { issuer: NOTIFICATION_ISSUER, audience: appId });
    expect(payload.tid).toBe(tenant);
    // Not an access token: the API refuses it.
    const asAccess = await call('GET', '/v1.0/subscriptions', batch!.validationTokens![0]!);
    expect(asAccess.statusCode).toBe(401);
  });
});

describe('subscriptions to subject rights requests', () => {
  test('need SubjectRightsRequest.Read.All; a case created, changed and watched alone notifies through the outbox', async () => {
    const tenant = randomUUID();
    const exportOnly = await t.appToken(tenant, EXPORT_ROLES);
    const cases = await t.appToken(tenant, ['SubjectRightsRequest.ReadWrite.All']);
    const denied = await call('POST', '/v1.0/subscriptions', exportOnly, body({ resource: 'security/subjectRightsRequests' }));
    expect(denied.statusCode).toBe(403);

    const all = await call('POST', '/v1.0/subscriptions', cases, body({ resource: 'security/subjectRightsRequests', changeType: 'created,updated,deleted' }));
    expect(all.statusCode, all.body).toBe(201);
    expect(all.json().resource).toBe('security/subjectRightsRequests');
    const created = await call('POST', '/v1.0/security/subjectRightsRequests', cases, {
      type: 'access',
      dataSubjectType: 'customer',
      displayName: 'Adele asks',
      regulations: ['GDPR'],
      dataSubject: { email: 'adele@contoso.com' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const caseId = created.json().id as string;
    const one = await call('POST', '/v1.0/subscriptions', cases, body({ resource: `security/subjectRightsRequests/${caseId}`, changeType: 'updated' }));
    expect(one.statusCode, one.body).toBe(201);
    const patch = await call('PATCH', `/v1.0/security/subjectRightsRequests/${caseId}`, cases, { description: 'by phone' });
    expect(patch.statusCode, patch.body).toBe(200);

    const rows = async (subscriptionId: string) =>
      (await t.db.query('select change_type, resource, resource_type from notification_outbox where subscription_id = $1 order by seq', [subscriptionId])).rows;
    const resource = `security/subjectRightsRequests/${caseId}`;
    const type = '#microsoft.graph.subjectRightsRequest';
    expect((await rows(all.json().id)).map((r) => r.change_type)).toEqual(expect.arrayContaining(['created', 'updated']));
    expect(await rows(all.json().id)).toContainEqual({ change_type: 'created', resource, resource_type: type });
    expect(await rows(one.json().id)).toContainEqual({ change_type: 'updated', resource, resource_type: type });
    expect((await rows(one.json().id)).every((r) => r.change_type === 'updated')).toBe(true);

    // Each caller lists the subscriptions of what it may read.
    const exportSubscription = (await createSubscription(tenant)).subscription.id;
    const listed = async (token: string) => (await call('GET', '/v1.0/subscriptions', token)).json().value.map((s: { id: string }) => s.id);
    expect(await listed(cases)).toEqual([all.json().id, one.json().id]);
    expect(await listed(exportOnly)).toEqual([exportSubscription]);
    expect((await call('GET', `/v1.0/subscriptions/${all.json().id}`, exportOnly)).statusCode).toBe(403);
  });

  test('a case of another tenant cannot be watched', async () => {
    const owner = await t.appToken(randomUUID(), ['SubjectRightsRequest.ReadWrite.All']);
    const created = await call('POST', '/v1.0/security/subjectRightsRequests', owner, {
      type: 'access',
      dataSubjectType: 'customer',
      displayName: 'x',
      regulations: ['GDPR'],
      dataSubject: { email: 'x@contoso.com' },
    });
    expect(created.statusCode).toBe(201);
    const intruder = await t.appToken(randomUUID(), ['SubjectRightsRequest.ReadWrite.All']);
    const res = await call('POST', '/v1.0/subscriptions', intruder, body({ resource: `security/subjectRightsRequests/${created.json().id}` }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/does not exist in this tenant/);
  });
});
