import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenClaims } from '../src/auth/local-issuer.ts';
import { startServer, type RunningServer } from '../src/start/start-server.ts';
import { loadConfig } from '../src/config.ts';
import { INDEX_CSP, type PackageManifest } from '../src/export/render-package.ts';
import { createLogger } from '../src/logger.ts';
import { seedTenant } from '../src/seed/seed-tenant.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startTestBrowser, type TestBrowser } from './support/chromium.ts';
import { waitFor } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

// index.html of a real package (docs/architecture.md#package-layout), opened in Chromium the two ways a person opens it:
// straight from the container through its SAS URL, and from a downloaded copy on disk.

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
// A drive file whose name needs percent-encoding in a link (space, &, +, ', non-ASCII) and one
// whose characters the package makes blob-safe (# and %).
const TRICKY_FOLDER = 'Reports & notes';
const TRICKY_FILES = ["Q3 plan + budget ü 'final'.txt", 'Notes #1 100%.md'];

const SPOOFED_NAME = 'Adele \u202Eexe.gpj\u202C Vance';

let azurite: Azurite;
let server: RunningServer;
let browser: TestBrowser;
let sas: string;
let containerUrl: string;
let manifest: PackageManifest;
let downloaded: string;

/** Every href on the page, resolved by the browser to an absolute URL. */
async function linksOf(page: Page): Promise<string[]> {
  return page.$$eval('a[href]', (anchors) => anchors.map((a) => (a as unknown as { href: string }).href));
}

/** The package path a link points to, given the package's root URL. */
function packagePathOf(href: string, root: string): string {
  const u = new URL(href);
  return decodeURIComponent(u.pathname.slice(new URL(root).pathname.length));
}

beforeAll(async () => {
  const { url: databaseUrl } = await createTestDatabase();
  const dataDir = await tempDir('dsr-index-');
  azurite = await startAzurite();
  const config = loadConfig({
    DSR_DATA_DIR: dataDir,
    DSR_DATABASE_URL: databaseUrl,
    DSR_PORT: '0',
    DSR_STORAGE_ALLOW: azurite.origin,
    DSR_LOG_LEVEL: 'warn',
  });
  server = await startServer(config, { withWorker: true, logger: createLogger('warn') });

  const seeded = await seedTenant({ db: server.db, contentStore: server.contentStore, users: 1, filesPerUser: 8, seed: randomUUID(), now: new Date() });
  const subject = seeded.users[0]!;
  const token = await server.localIssuer!.sign(
    tokenClaims({ tenant: seeded.tenantId, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All', 'Files.ReadWrite.All'] } }),
    3600,
  );
  const auth = { authorization: `Bearer ${token}` };
  for (const name of TRICKY_FILES) {
    const put = await fetch(`${server.url}/v1.0/users/${subject.id}/drive/root:/${encodeURIComponent(TRICKY_FOLDER)}/${encodeURIComponent(name)}:/content`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: `contents of ${name}\n`,
    });
    expect(put.status, await put.clone().text()).toBe(201);
  }

  // A display name with a right-to-left override: it must show as a code point, not flip the text.
  await server.db.query('update users set display_name = $1 where tenant_id = $2 and id = $3', [SPOOFED_NAME, seeded.tenantId, subject.id]);

  sas = await createContainerSas(azurite, `idx-${randomUUID().slice(0, 8)}`);
  containerUrl = sas.slice(0, sas.indexOf('?'));
  const posted = await fetch(`${server.url}/v1.0/users/${encodeURIComponent(subject.userPrincipalName)}/exportPersonalData`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ storageLocation: sas }),
  });
  expect(posted.status).toBe(202);
  const location = posted.headers.get('location')!;
  const op = await waitFor(
    async () => {
      const o = (await (await fetch(location, { headers: auth })).json()) as { status: string; error?: unknown };
      return o.status === 'complete' || o.status === 'failed' ? o : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'the export to finish' },
  );
  expect(op, JSON.stringify(op)).toMatchObject({ status: 'complete' });

  const container = new ContainerClient(sas);
  downloaded = await tempDir('dsr-index-copy-');
  for await (const blob of container.listBlobsFlat()) {
    const file = path.join(downloaded, ...blob.name.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await container.getBlobClient(blob.name).downloadToFile(file);
  }
  manifest = JSON.parse(await readFile(path.join(downloaded, 'manifest.json'), 'utf8')) as PackageManifest;

  await mkdir(ARTIFACTS, { recursive: true });
  browser = await startTestBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop().catch(() => undefined);
  await azurite?.stop().catch(() => undefined);
  if (downloaded) await rm(downloaded, { recursive: true, force: true });
});

describe('index.html of a real package', () => {
  it('has a strict Content-Security-Policy: its own script and style run, injected script, handlers and requests do not', async () => {
    const { page, problems } = await browser.newPage();
    const query = sas.slice(sas.indexOf('?'));
    await page.goto(`${containerUrl}/index.html${query}`);
    expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toBe(INDEX_CSP);
    // The page's own script (allowed by its hash) ran: relative links carry the SAS; its
    // stylesheet (allowed by its hash) applies; the browser reported no violation of its own.
    expect(
      new URL(
        await page
          .locator('a[href]')
          .first()
          .evaluate((a) => (a as unknown as { href: string }).href),
      ).search,
    ).toBe(query);
    expect(await page.evaluate('getComputedStyle(document.body).fontFamily')).toContain('system-ui');
    expect(problems).toEqual([]);

    // What an attacker's name would try if it ever escaped the HTML escaping: none of it runs.
    // (Browser code as a string: the project's TypeScript has no DOM types.)
    const violations = await page.evaluate<{ seen: string[]; fetched: string; ran: number }>(`(async () => {
      const seen = [];
      document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective));
      document.body.insertAdjacentHTML('beforeend', '<img src="x" onerror="window.pwnedByHandler=1"><div onclick="window.pwnedByClick=1" id="trap">x</div>');
      const inline = document.createElement('script');
      inline.textContent = 'window.pwnedByScript = 1';
      document.body.append(inline);
      document.getElementById('trap').click();
      const fetched = await fetch('index.html').then(() => 'fetched', () => 'blocked');
      await new Promise((r) => setTimeout(r, 0));
      return { seen, fetched, ran: [window.pwnedByHandler, window.pwnedByScript, window.pwnedByClick].filter(Boolean).length };
    })()`);
    expect(violations.ran).toBe(0);
    expect(violations.fetched).toBe('blocked');
    expect(violations.seen).toEqual(expect.arrayContaining(['script-src-elem', 'connect-src']));

    // A right-to-left override in the subject's name is shown as a code point and flips nothing.
    const text = await page.locator('body').innerText();
    expect(text).toContain('Adele [U+202E]exe.gpj[U+202C] Vance');
    expect(text).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(await page.title()).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    await page.close();
  });

  it('opened through the container SAS URL: every link carries the SAS and answers 200, the timeline renders, nothing external is loaded', async () => {
    const { page, requests } = await browser.newPage();
    const query = sas.slice(sas.indexOf('?'));
    const res = await page.goto(`${containerUrl}/index.html${query}`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toBe('Personal data export');

    const links = await linksOf(page);
    // Every file of the package is linked: the sections, manifest.json and each drive file.
    const linked = new Set(links.map((h) => packagePathOf(h, `${containerUrl}/`)));
    const expected = manifest.files
      .map((f) => f.path)
      .filter((p) => p !== 'index.html')
      .concat('manifest.json');
    expect([...linked].sort()).toEqual([...new Set(expected)].sort());
    // The tricky names are among them (blob-safe: # and % become _).
    expect(expected.filter((p) => p.startsWith(`OneDrive/Files/${TRICKY_FOLDER}/`)).sort()).toEqual([
      `OneDrive/Files/${TRICKY_FOLDER}/Notes _1 100_.md`,
      `OneDrive/Files/${TRICKY_FOLDER}/${TRICKY_FILES[0]}`,
    ]);

    // The page's script carried the SAS onto every relative link, so each one opens.
    for (const href of links) {
      expect(new URL(href).origin).toBe(azurite.origin);
      expect(new URL(href).search, href).toBe(query);
    }
    // Fetched from here: the page's Content-Security-Policy forbids it any request of its own.
    const statuses = await Promise.all(links.map(async (u) => [u, (await fetch(u)).status] as const));
    expect(statuses.filter(([, s]) => s !== 200)).toEqual([]);
    // Control: without the SAS the same link is refused, so the 200s above are the SAS's doing.
    const bare = (await fetch(links[0]!.replace(/\?.*$/, ''))).status;
    expect(bare).not.toBe(200);

    await timelineRenders(page);
    await page.screenshot({ path: path.join(ARTIFACTS, 'package-index-sas.png'), fullPage: true });
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => new URL(u).origin !== azurite.origin)).toEqual([]);
    await page.close();
  });

  it('opened from a downloaded copy on disk: every link points to an existing file, nothing external is loaded', async () => {
    const { page, requests } = await browser.newPage();
    const index = path.join(downloaded, 'index.html');
    await page.goto(pathToFileURL(index).href);
    expect(await page.locator('h1').textContent()).toBe('Personal data export');

    const links = await linksOf(page);
    // Every file but index.html, plus manifest.json (a section's files are linked from its row and its preview).
    expect(new Set(links).size).toBe(manifest.files.length);
    const missing: string[] = [];
    for (const href of links) {
      const u = new URL(href);
      expect(u.protocol, href).toBe('file:');
      expect(u.search, href).toBe('');
      const file = fileURLToPath(u);
      expect(file.startsWith(downloaded), href).toBe(true);
      if (
        !(await stat(file).then(
          (s) => s.isFile(),
          () => false,
        ))
      )
        missing.push(href);
    }
    expect(missing).toEqual([]);

    await timelineRenders(page);
    await page.screenshot({ path: path.join(ARTIFACTS, 'package-index-file.png'), fullPage: true });
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    await page.close();
  });
});

/** The activity timeline is an inline <svg> with one mark per day that had activity. */
async function timelineRenders(page: Page): Promise<void> {
  const svg = page.locator('h2:has-text("Activity timeline") ~ svg').first();
  expect(await svg.isVisible()).toBe(true);
  const box = await svg.boundingBox();
  expect(box!.width).toBeGreaterThan(100);
  expect(box!.height).toBeGreaterThan(20);
  const marks = await svg.locator('rect').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('height'))));
  expect(marks.filter((h) => h > 0).length).toBeGreaterThan(5);
  // The day labels name real dates.
  expect(await svg.locator('text').first().textContent()).toMatch(/^\d{4}-\d{2}-\d{2}/);
  expect(await page.locator('img, link[rel=stylesheet], script[src]').count()).toBe(0);
}
