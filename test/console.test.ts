import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import yauzl from 'yauzl';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleLink } from '../src/cli/console-link-command.ts';
import { startServer, type RunningServer } from '../src/start/start-server.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { CONSOLE_CSP } from '../src/console/console-routes.ts';
import { createLogger } from '../src/logger.ts';
import { seedTenant } from '../src/seed/seed-tenant.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { expectRoleRefusal } from './support/console-page.ts';
import { startTestBrowser, type TestBrowser, type WatchedPage } from './support/chromium.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
import { mintToken } from '../src/cli/token-command.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';

// The privacy console in Chromium against a real `serve` (embedded PostgreSQL, Azurite, a
// worker): sign-in links, the requests list, a request created from the page and reviewed.

let azurite: Azurite;
let server: RunningServer;
let config: Config;
let browser: TestBrowser;
let officerUpn: string;
let subjectUpn: string;
let colleagueUpn: string;
let subjectName: string;
let tenantId: string;
let extraWorker: Worker | undefined;

beforeAll(async () => {
  const { url: databaseUrl } = await createTestDatabase();
  azurite = await startAzurite();
  config = loadConfig({
    DSR_DATA_DIR: await tempDir('dsr-console-'),
    DSR_DATABASE_URL: databaseUrl,
    DSR_PORT: '0',
    DSR_HOST: '127.0.0.1',
    DSR_STORAGE_ALLOW: azurite.origin,
    DSR_LOG_LEVEL: 'warn',
    DSR_CASES_STORAGE: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.accountUrl};`,
  });
  server = await startServer(config, { withWorker: true, logger: createLogger('warn') });
  const seeded = await seedTenant({ db: server.db, contentStore: server.contentStore, users: 3, filesPerUser: 3, seed: randomUUID(), now: new Date() });
  [officerUpn, subjectUpn, colleagueUpn] = seeded.users.map((u) => u.userPrincipalName) as [string, string, string];
  subjectName = seeded.users[1]!.displayName;
  tenantId = seeded.tenantId;
  browser = await startTestBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await extraWorker?.stop().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  await azurite?.stop().catch(() => undefined);
});

async function link(upn: string, admin: boolean): Promise<string> {
  return (await createConsoleLink(config, { user: upn, admin, server: server.url })).url;
}

/** A page that records what the browser refused under the CSP and every request it made. */
const openPage = (): Promise<WatchedPage> => browser.newPage();

/** Waits for a heading; an alert shown instead fails at once with its text (the Graph error). */
async function heading(page: Page, name: string): Promise<void> {
  const alert = page.getByRole('alert');
  await Promise.race([
    page.getByRole('heading', { name }).waitFor(),
    alert.waitFor().then(async () => {
      throw new Error(`instead of "${name}": ${await alert.innerText()}`);
    }),
  ]);
}

/** The names of the entries of a zip file, read by yauzl (not the library that wrote it). */
function zipNames(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

// Screenshots of each screen, light and dark, at a phone's width; docs/console.md shows copies.
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

async function screenshots(page: Page, screen: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await page.screenshot({ path: path.join(ARTIFACTS, `console-${screen}-${colorScheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: null });
}

const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations on the page as it is, in the light and the dark
 * theme. Injected through the DevTools protocol (page.evaluate), which the page's CSP does not
 * govern; the page itself still runs under it.
 */
async function accessibilityProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const found = await page.evaluate<string[]>(`(async () => {
      if (!window.axe) { ${await AXE_SOURCE} }
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      if (result.passes.length === 0) return ['axe checked nothing'];
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '));
    })()`);
    problems.push(...found.map((f) => `${colorScheme}: ${f}`));
  }
  await page.emulateMedia({ colorScheme: null });
  return problems;
}

describe('the privacy console', () => {
  it('is served with a strict CSP, only its own files', async () => {
    const index = await fetch(`${server.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(await index.text()).not.toMatch(/<script(?![^>]*\bsrc=)/);
    for (const probe of ['..%2Fconsole-routes.ts', 'package.json', '%2e%2e%2f%2e%2e%2fapp.ts']) {
      const r = await fetch(`${server.url}/console/${probe}`);
      expect(r.status, probe).toBe(404);
    }
  });

  it('signs an officer in with a one-time link, creates a request from the page and reviews it', async () => {
    const url = await link(officerUpn, true);
    const { page, problems, origins } = await openPage();
    await page.goto(url);
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
    await page.getByText(`Signed in as`).waitFor();
    await page.locator('tbody tr').first().waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    // The link is gone from the address bar, and the token is nowhere but in the page's memory.
    expect(page.url()).not.toContain('link=');
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    expect(await page.evaluate('document.cookie')).toBe('');

    // No worker claims the export until the page shows it running; then one starts, and the
    // page follows the retrieval by itself (polling), without a reload or a Refresh.
    await server.worker!.drain();
    await page.getByRole('link', { name: 'New request' }).click();
    await heading(page, 'New request');
    await page.getByLabel('Request name').fill('Access for a seeded user');
    // The directory look-up by the start of the surname: the match's button fills in the address.
    const partial = subjectName.split(' ').at(-1)!.slice(0, 3).toLowerCase();
    await page.getByLabel('Find the data subject in the directory').fill(partial);
    // By keyboard: Tab from the search box to the match, Enter.
    const match = page.getByRole('button', { name: `Use ${subjectName} <${subjectUpn}>` });
    await match.waitFor();
    for (let i = 0; i < 10 && !(await match.evaluate((el) => el === el.ownerDocument.activeElement)); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await page.getByLabel('Data subject (mail or user principal name)').inputValue()).toBe(subjectUpn);
    await page.getByText(`Directory: ${subjectName}`).waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshots(page, 'new-request');
    await page.getByRole('button', { name: 'Create request' }).click();
    await heading(page, 'Access for a seeded user');
    await page.locator('ol.stages li', { hasText: 'contentRetrieval' }).getByText('current').waitFor();
    await page.getByText('this page updates by itself').waitFor();
    expect(await page.locator('dl.facts dd').nth(5).innerText()).toMatch(/^0 /);
    // Exports, in a second tab, shows the waiting export and follows it too.
    const exportsTab = await openPage();
    await exportsTab.page.goto(await link(officerUpn, true));
    await heading(exportsTab.page, 'Requests');
    await exportsTab.page.getByRole('link', { name: 'Exports' }).click();
    const waiting = exportsTab.page.locator('tbody tr', { hasText: 'notStarted' });
    await waiting.first().waitFor();
    const operationId = await waiting.first().locator('td').first().innerText();
    await exportsTab.page.getByText('their rows update by themselves').waitFor();
    for (const p of [page, exportsTab.page]) await p.evaluate('window.sameDocument = true');
    extraWorker = await startWorker({ config, db: server.db, contentStore: server.contentStore, logger: createLogger('warn') });
    await page.getByRole('button', { name: 'Complete review' }).waitFor({ timeout: 30_000 });
    await page.getByText('The retrieval has ended.').waitFor();
    await exportsTab.page.locator('tbody tr', { hasText: operationId }).getByText('complete', { exact: true }).waitFor({ timeout: 30_000 });
    expect(await exportsTab.page.locator('tbody tr', { hasText: operationId }).locator('progress').getAttribute('value')).toBe('100');
    for (const p of [page, exportsTab.page]) expect(await p.evaluate('window.sameDocument')).toBe(true);
    expect(exportsTab.problems).toEqual([]);
    await exportsTab.page.close();
    expect(await page.locator('dl.facts dd').nth(5).innerText()).not.toMatch(/^0 /);
    await page
      .locator('tbody tr')
      .first()
      .waitFor({ timeout: 5000 })
      .catch(async () => {
        throw new Error(await page.locator('main').innerText());
      });
    const firstRow = page.locator('tbody tr').first();
    await firstRow.getByRole('textbox').fill("another person's data");
    await firstRow.getByRole('button', { name: 'Exclude' }).click();
    await page.locator('tbody tr').first().getByRole('button', { name: 'Include' }).waitFor();

    const excludedPath = await page.locator('tbody tr').first().locator('td').first().innerText();
    const keptPath = await page.locator('tbody tr').nth(1).locator('td').first().innerText();
    await page.getByLabel('Add a note').fill('Checked with HR.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.getByText('Checked with HR.').waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    // Responsive: at a phone's width the page does not scroll sideways (only the tables' own boxes do).
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshots(page, 'request');
    await page.setViewportSize({ width: 1100, height: 800 });

    await page.getByRole('button', { name: 'Complete review' }).click();
    const attachmentButton = page.getByRole('button', { name: 'Download final attachment' });
    await attachmentButton.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), attachmentButton.click()]);
    const names = await zipNames(await download.path());
    expect(names.length).toBeGreaterThan(1);
    expect(
      names.some((n) => n.endsWith(keptPath)),
      `${keptPath} in ${names.join(', ')}`,
    ).toBe(true);
    expect(
      names.some((n) => n.endsWith(excludedPath)),
      `${excludedPath} in ${names.join(', ')}`,
    ).toBe(false);

    await page.getByRole('button', { name: 'Close request' }).click();
    await page.locator('ol.stages li', { hasText: 'caseResolved' }).getByText('completed').waitFor();

    await page.getByRole('link', { name: '← Requests' }).click();
    const row = page.locator('tbody tr', { hasText: 'Access for a seeded user' });
    await row.waitFor();
    expect(await row.innerText()).toContain(subjectUpn);

    // The case's export, among the tenant's operations.
    await page.getByRole('link', { name: 'Exports' }).click();
    await page.getByRole('heading', { name: 'Exports' }).waitFor();
    await page.locator('tbody tr', { hasText: 'complete' }).first().waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshots(page, 'exports');
    expect([...origins]).toEqual([server.url]);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('refuses a link the second time', async () => {
    const url = await link(officerUpn, true);
    const first = await openPage();
    await first.page.goto(url);
    await first.page.getByRole('heading', { name: 'Requests' }).waitFor();
    await first.page.close();
    const { page } = await openPage();
    await page.goto(url);
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('already used');
    await page.close();
  });

  it('shows a user without the administrator role a clear refusal from the Graph route', async () => {
    const { page } = await openPage();
    await page.goto(await link(colleagueUpn, false));
    await expectRoleRefusal(page);
    await page.close();
  });
  it('filters, sorts and searches the requests list on the server, and keeps the state in the address', async () => {
    const token = await mintToken(config, { tenant: tenantId, user: officerUpn, admin: true, scopes: 'SubjectRightsRequest.ReadWrite.All' });
    const api = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${server.url}/v1.0/security/subjectRightsRequests${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      return res.json() as Promise<{ id: string }>;
    };
    // Subjects not in the directory: no export runs, the lists need only the cases.
    const make = (name: string, extra: Record<string, unknown>) =>
      api('POST', '', {
        displayName: name,
        type: 'access',
        dataSubjectType: 'customer',
        regulations: ['GDPR'],
        dataSubject: { email: `${name.replace(/ /g, '.')}@nowhere.example` },
        ...extra,
      });
    await make('Sorted alpha', { internalDueDateTime: '2099-01-01T00:00:00Z' });
    await make('Sorted beta', { type: 'export', internalDueDateTime: '2020-01-01T00:00:00Z' });
    const gamma = await make('Sorted gamma', { internalDueDateTime: '2098-01-01T00:00:00Z' });
    await api('PATCH', `/${gamma.id}`, { status: 'closed' });

    const { page, problems, requests } = await openPage();
    await page.goto(await link(officerUpn, true));
    await heading(page, 'Requests');
    const names = async () => {
      await page.locator('tbody tr').first().waitFor();
      return (await page.locator('tbody tr td:first-child').allInnerTexts()).filter((n) => n.startsWith('Sorted'));
    };
    await page.getByLabel('Name or subject contains').fill('SORTED');
    await page.keyboard.press('Enter');
    await expect.poll(names).toEqual(['Sorted beta', 'Sorted gamma', 'Sorted alpha']);
    expect(await page.locator('tbody tr').count()).toBe(3);
    await page.getByLabel('Sort by').selectOption({ label: 'Created, newest first' });
    await expect.poll(names).toEqual(['Sorted gamma', 'Sorted beta', 'Sorted alpha']);
    await page.getByLabel('Sort by').selectOption({ label: 'Status (active first), then due date' });
    await expect.poll(names).toEqual(['Sorted beta', 'Sorted alpha', 'Sorted gamma']);
    await screenshots(page, 'requests');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.getByLabel('Status').selectOption({ label: 'Overdue' });
    await expect.poll(names).toEqual(['Sorted beta']);
    expect(await page.locator('tbody tr').first().innerText()).toContain('Overdue by');
    await page.getByLabel('Status').selectOption({ label: 'Active' });
    await page.getByLabel('Type').selectOption({ label: 'access' });
    await expect.poll(names).toEqual(['Sorted alpha']);
    // The state is in the address: a new screen from it shows the same list.
    expect(page.url()).toContain('status=active');
    expect(page.url()).toContain('q=SORTED');
    await page.getByRole('link', { name: 'Exports' }).click();
    await heading(page, 'Exports');
    await page.goBack();
    await heading(page, 'Requests');
    expect(await page.getByLabel('Type').inputValue()).toBe('access');
    await expect.poll(names).toEqual(['Sorted alpha']);
    // Filtered, sorted and searched by the service, not in the page.
    expect(requests.some((r) => r.includes('%24search=') || r.includes('$search='))).toBe(true);
    expect(requests.some((r) => /(%24|\$)orderby=status/.test(r))).toBe(true);
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('edits the privacy statement with a preview as the subject sees it, where the text cannot run', async () => {
    const { page, problems } = await openPage();
    await page.goto(await link(officerUpn, true));
    await heading(page, 'Requests');
    await page.getByRole('link', { name: 'Privacy statement' }).click();
    await heading(page, 'Privacy statement');
    await page.getByText('No statement is set yet').waitFor();
    const hostile = 'Contoso <img src=x onerror="window.ran=1"><script>window.ran=2</script>';
    const fill: [string, string][] = [
      ['Controller: name', hostile],
      ['Controller: contact', 'privacy@contoso.example'],
      ['Purposes and legal bases', 'Payroll | Art. 6(1)(b) GDPR\nSecurity | Art. 6(1)(f) GDPR'],
      ['Categories of personal data', 'Profile\nFiles'],
      ['Retention', 'Profile | Employment + 2 years'],
      ['Source of the data', 'You and your manager'],
      ['Automated decision-making, including profiling', 'None'],
      ['Right to rectification: how', 'Ask HR'],
      ['Right to erasure: how', 'Ask HR'],
      ['Right to restriction: how', 'Ask HR'],
      ['Right to object: how', 'Ask HR'],
      ['Supervisory authority', 'EDÖB'],
      ['Supervisory authority: contact', 'https://www.edoeb.admin.ch'],
    ];
    for (const [label, value] of fill) await page.getByLabel(label, { exact: true }).fill(value);
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.locator('#ps-preview-area');
    await preview.getByText(`Controller: ${hostile} (privacy@contoso.example)`).waitFor();
    await preview.getByText('Purpose: Security; legal basis: Art. 6(1)(f) GDPR').waitFor();
    await preview.getByText("Left out as other people's data (Art. 15(4))", { exact: false }).waitFor();
    expect(await preview.locator('img, script').count()).toBe(0);
    expect(await page.evaluate('window.ran')).toBeUndefined();
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshots(page, 'privacy-statement');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1100, height: 800 });

    // A field the service refuses: its 400 shows with the request id, nothing is stored.
    await page.getByLabel('Source of the data', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Save statement' }).click();
    expect(await page.getByRole('alert').innerText()).toMatch(/source must be a non-empty string[\s\S]*request id: [0-9a-f-]{36}/);
    await page.getByLabel('Source of the data', { exact: true }).fill('You and your manager');
    await page.getByLabel("Leave other people's IP addresses and user agents out of packages (GDPR Art. 15(4))").uncheck();
    await page.getByRole('button', { name: 'Save statement' }).click();
    await page.getByText('every report and package from now on carries it').waitFor();
    await preview.getByText("Other people's IP addresses and user agents are included.").waitFor();
    // Read back through the API, not the page.
    const token = await mintToken(config, { tenant: tenantId, user: officerUpn, admin: true, scopes: 'SubjectRightsRequest.Read.All' });
    const stored = (await (await fetch(`${server.url}/v1.0/security/privacyStatement`, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<
      string,
      any
    >;
    expect(stored.controller.name).toBe(hostile);
    expect(stored.purposes).toEqual([
      { purpose: 'Payroll', legalBasis: 'Art. 6(1)(b) GDPR' },
      { purpose: 'Security', legalBasis: 'Art. 6(1)(f) GDPR' },
    ]);
    expect(stored.recipients).toEqual([]);
    expect(stored.redactOtherActors).toBe(false);
    // The browser logs the two answers the test asked for (404 before any statement, the 400); nothing else.
    expect(problems.filter((p) => !/status of (404 \(Not Found\)|400 \(Bad Request\))$/.test(p))).toEqual([]);
    expect(problems).toHaveLength(2);
    await page.close();
  });
});
