import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import yauzl from 'yauzl';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenClaims } from '../src/auth/local-issuer.ts';
import { ConfigError, GLOBAL_ADMIN_ROLE, loadConfig } from '../src/config.ts';
import { consoleCsp } from '../src/console/console-routes.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { createLogger } from '../src/logger.ts';
import { seedTenant } from '../src/seed/seed-tenant.ts';
import { startServer, type RunningServer } from '../src/start/start-server.ts';
import { expectRoleRefusal } from './support/console-page.ts';
import { startTestBrowser, type TestBrowser } from './support/chromium.ts';
import { waitFor } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
import { PROVIDER_SCOPES, startLoginProvider, type LoginProvider } from './support/oidc-login-provider.ts';

// The console signing in through a real OpenID Connect provider (its own login and consent
// pages) with the authorization code flow and PKCE, in Chromium, against a real `serve`
// (embedded PostgreSQL, Azurite, a worker); then a case's attachment downloaded through a
// short-lived URL, straight to disk.

const AUDIENCE = 'api://dsr-console-test';
const CLIENT_ID = 'dsr-console';
let azurite: Azurite;
let idp: LoginProvider;
let server: RunningServer;
let browser: TestBrowser;
let tenant: string;
let caseId: string;
const logLines: string[] = [];

async function api(method: string, path: string, body?: unknown): Promise<Record<string, any>> {
  const token = await server.localIssuer!.sign(tokenClaims({ tenant, app: { id: randomUUID(), roles: ['SubjectRightsRequest.ReadWrite.All'] } }), 600);
  const res = await fetch(`${server.url}/v1.0${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, any>>;
}

/** Each entry of a zip file with the SHA-256 of its content, read by yauzl as a stream. */
function zipDigests(file: string): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err) return reject(err);
      const out = new Map<string, string>();
      zip.on('error', reject);
      zip.on('end', () => resolve(out));
      zip.on('entry', (entry: yauzl.Entry) =>
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const hash = createHash('sha256');
          stream.on('data', (c: Buffer) => hash.update(c));
          stream.on('error', reject);
          stream.on('end', () => {
            out.set(entry.fileName, hash.digest('hex'));
            zip.readEntry();
          });
        }),
      );
      zip.readEntry();
    });
  });
}

beforeAll(async () => {
  const { url: databaseUrl } = await createTestDatabase();
  [azurite, idp] = await Promise.all([startAzurite(), startLoginProvider(AUDIENCE)]);
  tenant = randomUUID();
  const config = loadConfig({
    DSR_DATA_DIR: await tempDir('dsr-console-oidc-'),
    DSR_DATABASE_URL: databaseUrl,
    DSR_PORT: '0',
    DSR_HOST: '127.0.0.1',
    DSR_STORAGE_ALLOW: azurite.origin,
    DSR_CASES_STORAGE: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.accountUrl};`,
    DSR_AUTH_ISSUER: idp.issuer,
    DSR_AUTH_AUDIENCE: AUDIENCE,
    DSR_CONSOLE_CLIENT_ID: CLIENT_ID,
    DSR_CONSOLE_SCOPE: `openid profile ${PROVIDER_SCOPES.join(' ')}`,
    // Kept beside the external issuer only so that the test can set a case up over the API.
    DSR_AUTH_LOCAL_ISSUER: 'true',
  });
  const logs = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  server = await startServer(config, { withWorker: true, logger: createLogger('info', logs) });
  idp.registerClient(CLIENT_ID, `${server.url}/console/`);
  const seeded = await seedTenant({
    db: server.db,
    contentStore: server.contentStore,
    tenantId: tenant,
    users: 3,
    filesPerUser: 3,
    seed: randomUUID(),
    now: new Date(),
  });
  const [officer, subject, colleague] = seeded.users as [(typeof seeded.users)[0], (typeof seeded.users)[0], (typeof seeded.users)[0]];
  idp.addUser('officer', { name: officer.displayName, tid: tenant, oid: officer.id, upn: officer.userPrincipalName, wids: [GLOBAL_ADMIN_ROLE] });
  idp.addUser('colleague', { name: colleague.displayName, tid: tenant, oid: colleague.id, upn: colleague.userPrincipalName });

  // A case that reached its final report, to list and to download.
  const created = await api('POST', '/security/subjectRightsRequests', {
    type: 'access',
    dataSubjectType: 'currentEmployee',
    displayName: 'Signed-in download',
    regulations: ['GDPR'],
    dataSubject: { email: subject.userPrincipalName },
  });
  caseId = created.id as string;
  await waitFor(async () => (await api('GET', `/security/subjectRightsRequests/${caseId}`)).stages[1].status === 'current', {
    timeoutMs: 30_000,
    what: 'the review',
  });
  await api('POST', `/security/subjectRightsRequests/${caseId}/completeReview`);
  browser = await startTestBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop().catch(() => undefined);
  await idp?.close();
  await azurite?.stop().catch(() => undefined);
});

/** From the console's sign-in screen through the provider's login and consent pages. */
async function signInAs(page: Page, login: string): Promise<void> {
  await page.goto(`${server.url}/console/#/requests/${caseId}`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${idp.issuer}/**`);
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${server.url}/console/**`);
}

describe('console sign-in through an external OpenID Connect issuer', () => {
  it('tells the page the issuer and client id, and lets it connect to that issuer only', async () => {
    const settings = await (await fetch(`${server.url}/console/config.json`)).json();
    expect(settings).toEqual({ localSignIn: true, oidc: { issuer: idp.issuer, clientId: CLIENT_ID, scope: `openid profile ${PROVIDER_SCOPES.join(' ')}` } });
    const csp = (await fetch(`${server.url}/console/`)).headers.get('content-security-policy')!;
    expect(csp).toContain(`connect-src 'self' ${idp.issuer};`);
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("form-action 'none'");
    const library = await fetch(`${server.url}/console/oauth4webapi.js`);
    expect(library.status).toBe(200);
    expect(await library.text()).toContain('export async function authorizationCodeGrantRequest');
  });

  it('signs an administrator in with PKCE, lists requests, downloads the attachment to disk; no token in storage or logs', async () => {
    const { page, problems, requests } = await browser.newPage();
    await signInAs(page, 'officer');
    // From here on the console's own doing (the provider's pages load what they like).
    const [problemsBefore, requestsBefore] = [problems.length, requests.length];
    // Back on the page the sign-in started from, signed in, the code gone from the address.
    await page.getByRole('heading', { name: 'Signed-in download' }).waitFor();
    await page.getByText('Signed in as').waitFor();
    expect(page.url()).toBe(`${server.url}/console/#/requests/${caseId}`);
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    expect(await page.evaluate('document.cookie')).toBe('');

    const attachment = page.getByRole('button', { name: 'Download final attachment' });
    const [download] = await Promise.all([page.waitForEvent('download'), attachment.click()]);
    const file = await download.path();
    const digests = await zipDigests(file);
    // Every kept package file, byte for byte, besides the attachment's own manifest.
    const files = (await api('GET', `/security/subjectRightsRequests/${caseId}/packageFiles?$top=100`)).value as {
      path: string;
      sha256: string;
      excluded: boolean;
    }[];
    const kept = files.filter((f) => !f.excluded);
    expect(kept.length).toBeGreaterThan(2);
    expect([...digests.keys()].sort()).toEqual(['manifest.json', ...kept.map((f) => f.path)].sort());
    for (const f of kept) expect(digests.get(f.path), f.path).toBe(f.sha256);
    expect(download.suggestedFilename()).toBe(`subject-rights-request-${caseId}.zip`);

    // The URL names this file of this case only, and no log line holds it.
    const url = new URL(download.url());
    expect(url.origin).toBe(server.url);
    const [payload, mac] = url.pathname.split('/').pop()!.split('.') as [string, string];
    const grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(grant).toMatchObject({ tenantId: tenant, requestId: caseId, file: 'attachment' });
    const other = Buffer.from(JSON.stringify({ ...grant, requestId: randomUUID() })).toString('base64url');
    expect((await fetch(`${server.url}/downloads/requests/${other}.${mac}`)).status).toBe(401);
    expect(logLines.join('')).not.toContain(mac);

    await page.getByRole('link', { name: '← Requests' }).click();
    await page.locator('tbody tr', { hasText: 'Signed-in download' }).waitFor();
    // The token exchange went to the issuer, everything else to this origin; the CSP refused nothing.
    expect([...new Set(requests.slice(requestsBefore).map((r) => new URL(r).origin))].sort()).toEqual([server.url, idp.issuer].sort());
    expect(problems.slice(problemsBefore)).toEqual([]);
    await page.close();
  }, 60_000);

  it("shows a user without the administrator role the routes' refusal", async () => {
    await browser.context.clearCookies();
    const { page } = await browser.newPage();
    await signInAs(page, 'colleague');
    await expectRoleRefusal(page);
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    await page.close();
  }, 30_000);

  it('says why when the user cancels at the issuer', async () => {
    await browser.context.clearCookies();
    const { page } = await browser.newPage();
    await page.goto(`${server.url}/console/`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${idp.issuer}/**`);
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('access_denied');
    expect(page.url()).not.toContain('state=');
    await page.close();
  }, 30_000);
});

describe('console sign-in settings', () => {
  const base = { DSR_AUTH_AUDIENCE: 'api://dsr', DSR_CONSOLE_CLIENT_ID: 'c0e5' };
  it('need an external issuer; a multi-tenant one needs an allowed DSR_CONSOLE_TENANT', () => {
    const tid = randomUUID();
    expect(() => loadConfig({ DSR_CONSOLE_CLIENT_ID: 'c0e5' })).toThrow(ConfigError);
    expect(() => loadConfig({ DSR_CONSOLE_SCOPE: 'openid' })).toThrow(/DSR_CONSOLE_CLIENT_ID/);
    const multi = { ...base, DSR_AUTH_ISSUER: 'https://login.example/{tenantid}/v2.0', DSR_AUTH_ALLOWED_TENANTS: tid };
    expect(() => loadConfig(multi)).toThrow(/DSR_CONSOLE_TENANT/);
    expect(() => loadConfig({ ...multi, DSR_CONSOLE_TENANT: randomUUID() })).toThrow(/DSR_AUTH_ALLOWED_TENANTS/);
    const config = loadConfig({ ...multi, DSR_CONSOLE_TENANT: tid.toUpperCase() });
    expect(config.console).toEqual({ issuer: `https://login.example/${tid}/v2.0`, clientId: 'c0e5', scope: 'openid profile api://dsr/.default' });
    expect(consoleCsp(config)).toContain("connect-src 'self' https://login.example;");
    expect(() => loadConfig({ ...base, DSR_AUTH_ISSUER: 'https://idp.example', DSR_CONSOLE_TENANT: tid })).toThrow(/only for an issuer with/);
    expect(loadConfig({}).console).toBeUndefined();
  });
});
