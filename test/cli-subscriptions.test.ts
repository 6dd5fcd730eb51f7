import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from './support/cli.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';
import { NotificationReceiver } from './support/notification-receiver.ts';

let t: TestApp;
let receiver: NotificationReceiver;
let server: string;

beforeAll(async () => {
  receiver = await NotificationReceiver.start();
  t = await createTestApp({ DSR_NOTIFICATION_ALLOW: receiver.origin });
  server = await t.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

test('export --notify subscribes to the operation; subscriptions list hides the URL secret; delete removes it', async () => {
  const tenant = randomUUID();
  const token = await t.appToken(tenant, ['User.Export.All', 'User.Read.All']);
  const user = randomUUID();
  await t.db.query('insert into users (tenant_id, id, user_principal_name) values ($1, $2, $3)', [tenant, user, `cli-${user.slice(0, 8)}@contoso.test`]);
  const hook = `${receiver.url('/cli')}?code=cli-secret`;
  const exported = await runCli(['export', user, '--to', fakeSasUrl(), '--no-wait', '--notify', hook, '--server', server, '--token', token]);
  expect(exported.code, exported.stderr).toBe(0);
  const operationId = exported.stdout.trim().split('/').pop()!;
  expect(receiver.validations).toContain('/cli');
  // Nothing runs the export here, so it had not ended when the subscription was made.
  expect(exported.stderr).not.toMatch(/no notification will come/);

  const listed = await runCli(['subscriptions', 'list', '--json', '--server', server, '--token', token]);
  expect(listed.code, listed.stderr).toBe(0);
  const subscriptions = JSON.parse(listed.stdout) as { id: string; resource: string; changeType: string; notificationUrl: string }[];
  expect(subscriptions).toEqual([
    expect.objectContaining({
      resource: `dataPolicyOperations/${operationId}`,
      changeType: 'updated',
      notificationUrl: `${receiver.url('/cli')}?…`,
    }),
  ]);
  const plain = await runCli(['subscriptions', 'list', '--server', server, '--token', token]);
  expect(plain.stdout).toContain(subscriptions[0]!.id);
  expect(plain.stdout + listed.stdout + exported.stdout + exported.stderr).not.toContain('cli-secret');

  const deleted = await runCli(['subscriptions', 'delete', subscriptions[0]!.id, '--server', server, '--token', token]);
  expect(deleted.code, deleted.stderr).toBe(0);
  const again = await runCli(['subscriptions', 'delete', subscriptions[0]!.id, '--server', server, '--token', token]);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/ResourceNotFound/);
  expect(JSON.parse((await runCli(['subscriptions', 'list', '--json', '--server', server, '--token', token])).stdout)).toEqual([]);
});

test('export --notify with a refused URL fails with the handshake reason', async () => {
  const tenant = randomUUID();
  const token = await t.appToken(tenant, ['User.Export.All', 'User.Read.All']);
  const user = randomUUID();
  await t.db.query('insert into users (tenant_id, id, user_principal_name) values ($1, $2, $3)', [tenant, user, `cli-${user.slice(0, 8)}@contoso.test`]);
  const res = await runCli(['export', user, '--to', fakeSasUrl(), '--no-wait', '--notify', 'http://hooks.example.com/x', '--server', server, '--token', token]);
  expect(res.code).toBe(1);
  expect(res.stderr).toMatch(/InvalidRequest: The notificationUrl must use the HTTPS protocol/);
});
