import { ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importActivity } from '../src/activity/import-activity.ts';
import { insertDirectoryAudit } from '../src/db/queries/directory-audits.ts';
import { insertUser } from '../src/db/queries/users.ts';
import { auditRecord } from '../src/domain/directory-audit.ts';
import type { UserRow } from '../src/domain/user.ts';
import { graphClient, listenGraph } from './support/graph-client.ts';
import { createTestApp, type TestApp } from './support/harness.ts';

const TENANT = randomUUID();
const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (hours: number) => new Date(T0 + hours * 3600_000);
let t: TestApp;
let server: FastifyInstance;
let client: Client;
let base = '';
let token = '';

interface Row {
  createdDateTime: string;
  activityDateTime: string;
  userPrincipalName: string;
  appDisplayName: string;
  activityDisplayName: string;
}

beforeAll(async () => {
  t = await createTestApp();
  ({ server, base } = await listenGraph(t));
  token = await t.appToken(TENANT, ['AuditLog.Read.All']);
  client = graphClient(base, token);
  const users: UserRow[] = [];
  for (const upn of ['adele@contoso.com', 'alex@contoso.com', 'ben@contoso.com']) {
    users.push(await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: upn, display_name: upn }, new Date()));
  }
  // Hour h: user h % 3, app "Azure Portal" on even hours, "Microsoft Teams" on odd ones.
  const lines = Array.from({ length: 12 }, (_, h) =>
    JSON.stringify({
      id: randomUUID(),
      createdDateTime: at(h).toISOString(),
      userId: users[h % 3]!.id,
      userPrincipalName: users[h % 3]!.user_principal_name,
      appDisplayName: h % 2 === 0 ? 'Azure Portal' : 'Microsoft Teams',
      status: { errorCode: 0 },
    }),
  );
  expect((await importActivity(t.db, TENANT, lines)).imported).toBe(12);
  for (let h = 0; h < 6; h++) {
    await insertDirectoryAudit(
      t.db,
      auditRecord({
        tenantId: TENANT,
        now: at(h),
        activity: h < 3 ? 'Add user' : 'Update user',
        operationType: h < 3 ? 'Add' : 'Update',
        requester: { kind: 'application', appId: randomUUID(), oid: randomUUID(), upn: undefined },
        ipAddress: null,
        target: { id: users[0]!.id, userPrincipalName: users[0]!.user_principal_name },
      }),
    );
  }
});
afterAll(async () => {
  await server?.close();
  await t?.close();
});

async function signIns(filter: string, extra: (r: ReturnType<Client['api']>) => ReturnType<Client['api']> = (r) => r): Promise<Row[]> {
  return (await extra(client.api('/auditLogs/signIns').filter(filter)).get()).value;
}

describe('signIns', () => {
  it('date ranges with ge/gt/le/lt, combined with the other terms', async () => {
    expect((await signIns(`createdDateTime ge ${at(3).toISOString()} and createdDateTime lt ${at(6).toISOString()}`)).length).toBe(3);
    expect((await signIns(`createdDateTime gt ${at(3).toISOString()} and createdDateTime le ${at(6).toISOString()}`)).map((r) => r.createdDateTime)).toEqual(
      [6, 5, 4].map((h) => at(h).toISOString().replace('.000Z', 'Z')),
    );
    const alex = await signIns(`createdDateTime ge 2026-11-01T04:00:00Z and userPrincipalName eq 'alex@contoso.com'`);
    expect(alex.map((r) => r.createdDateTime)).toEqual([10, 7, 4].map((h) => at(h).toISOString().replace('.000Z', 'Z')));
  });

  it('startswith on userPrincipalName and appDisplayName', async () => {
    expect((await signIns("startswith(userPrincipalName, 'a')")).length).toBe(8);
    expect((await signIns("startswith(appDisplayName, 'Azure')")).every((r) => r.appDisplayName === 'Azure Portal')).toBe(true);
    expect((await signIns("startswith(appDisplayName, 'azure') and startswith(userPrincipalName, 'ben')")).map((r) => r.userPrincipalName)).toEqual([
      'ben@contoso.com',
      'ben@contoso.com',
    ]);
    // LIKE's wildcards are literal characters in a prefix.
    expect((await signIns("startswith(userPrincipalName, '_')")).length).toBe(0);
  });

  it('$orderby createdDateTime asc pages oldest first; the default page is 1,000 and $top 1001 is refused', async () => {
    const first = await client.api('/auditLogs/signIns').orderby('createdDateTime asc').top(5).get();
    expect(first.value[0].createdDateTime).toBe('2026-11-01T00:00:00Z');
    const rest = (await (await fetch(first['@odata.nextLink'], { headers: { authorization: `Bearer ${token}` } })).json()) as { value: Row[] };
    expect(rest.value[0]!.createdDateTime).toBe('2026-11-01T05:00:00Z');
    const all = await client.api('/auditLogs/signIns').get();
    expect(all.value.length).toBe(12);
    const tooMany = (await client.api('/auditLogs/signIns').top(1001).responseType(ResponseType.RAW).get()) as Response;
    expect(tooMany.status).toBe(400);
    const badOrder = (await client.api('/auditLogs/signIns').orderby('userId').responseType(ResponseType.RAW).get()) as Response;
    expect(badOrder.status).toBe(400);
    const quoted = (await client.api('/auditLogs/signIns').filter("createdDateTime ge '2026-11-01'").responseType(ResponseType.RAW).get()) as Response;
    expect(quoted.status).toBe(400);
  });
});

describe('directoryAudits', () => {
  it('activityDateTime ranges combined with activityDisplayName, and $orderby', async () => {
    const res = await client
      .api('/auditLogs/directoryAudits')
      .filter(`activityDateTime ge ${at(1).toISOString()} and activityDateTime le ${at(4).toISOString()} and activityDisplayName eq 'Update user'`)
      .orderby('activityDateTime asc')
      .get();
    expect(res.value.map((r: Row) => r.activityDateTime)).toEqual([3, 4].map((h) => at(h).toISOString().replace('.000Z', 'Z')));
  });
});
