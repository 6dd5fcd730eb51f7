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
import { startTestBrowser, type TestBrowser, type WatchedPage } from './support/chromium.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

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

beforeAll(async () => {
  const { url: databaseUrl } = await createTestDatabase();
  azurite = await startAzurite();
  config = loadConfig({
    DSR_DATA_DIR: await tempDir('dsr-console-'), DSR_DATABASE_URL: databaseUrl, DSR_PORT: '0', DSR_HOST: '127.0.0.1',
    DSR_STORAGE_ALLOW: azurite.origin, DSR_LOG_LEVEL: 'warn',
    DSR_CASES_STORAGE: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.accountUrl};`,
  });
  server = await startServer(config, { withWorker: true, logger: createLogger('warn') });
  const seeded = await seedTenant({ db: server.db, contentStore: server.contentStore, users: 3, filesPerUser: 3, seed: randomUUID(), now: new Date() });
  [officerUpn, subjectUpn, colleagueUpn] = seeded.users.map((u) => u.userPrincipalName) as [string, string, string];
  subjectName = seeded.users[1]!.displayName;
  browser = await startTestBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
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
    alert.waitFor().then(async () => { throw new Error(`instead of "${name}": ${await alert.innerText()}`); }),
  ]);
}

/** The names of the entries of a zip file, read by yauzl (not the library that wrote it). */
function zipNames(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => { names.push(entry.fileName); zip.readEntry(); });
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
    const found = await page.evaluate(`(async () => {
      if (!window.axe) { ${await AXE_SOURCE} }
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      if (result.passes.length === 0) return ['axe checked nothing'];
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '));
    })()`) as string[];
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

    await page.getByRole('link', { name: 'New request' }).click();
    await page.getByLabel('Request name').fill('Access for a seeded user');
    await page.getByLabel('Data subject (mail or user principal name)').fill(subjectUpn);
    await page.getByLabel('Data subject type').focus();
    await page.getByText(`Directory: ${subjectName}`).waitFor();
    await page.getByRole('button', { name: 'Create request' }).click();
    await heading(page, 'Access for a seeded user');
    await expect.poll(() => page.locator('ol.stages li').count()).toBe(4);

    // The worker retrieves the package; Refresh until the review opens (keyboard only).
    const deadline = Date.now() + 30_000;
    while (!(await page.getByRole('button', { name: 'Complete review' }).isVisible())) {
      if (Date.now() > deadline) throw new Error(`the review did not open: ${await page.locator('main').innerText()}`);
      await page.getByRole('button', { name: 'Refresh' }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Access for a seeded user' }).waitFor();
    }
    await page.locator('tbody tr').first().waitFor({ timeout: 5000 }).catch(async () => { throw new Error(await page.locator('main').innerText()); });
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
    expect(names.some((n) => n.endsWith(keptPath)), `${keptPath} in ${names.join(', ')}`).toBe(true);
    expect(names.some((n) => n.endsWith(excludedPath)), `${excludedPath} in ${names.join(', ')}`).toBe(false);

    await page.getByRole('button', { name: 'Close request' }).click();
    await page.locator('ol.stages li', { hasText: 'caseResolved' }).getByText('completed').waitFor();

    await page.getByRole('link', { name: '← Requests' }).click();
    const row = page.locator('tbody tr', { hasText: 'Access for a seeded user' });
    await row.waitFor();
    expect(await row.innerText()).toContain(subjectUpn);
    await screenshots(page, 'requests');

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
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toContain('Not allowed');
    expect(text).toContain('administrator');
    expect(text).toMatch(/request id: [0-9a-f-]{36}/);
    await page.close();
  });
});
