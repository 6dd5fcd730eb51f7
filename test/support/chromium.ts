import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from './harness.ts';

// The browser tests need a Chromium, and `npm ci && npm test` must find one on a machine where
// nothing was installed by hand. In order: CHROMIUM_PATH, a system Chromium, or the one inside
// the @sparticuz/chromium dev dependency (unpacked to the temp folder on first use, ~2 s).
// CHROMIUM_PATH=bundled skips the system one, to check the bundled path where both exist.

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
const QUIET_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export interface ChromiumBinary {
  readonly executablePath: string;
  readonly args: string[];
  /** Where it came from, for messages: `CHROMIUM_PATH`, `system` or `@sparticuz/chromium`. */
  readonly source: string;
}

export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumBinary> {
  const wanted = env.CHROMIUM_PATH;
  if (wanted && wanted !== 'bundled') {
    if (!existsSync(wanted)) throw new Error(`CHROMIUM_PATH=${wanted} does not exist; unset it to use a system or the bundled Chromium`);
    return { executablePath: wanted, args: QUIET_ARGS, source: 'CHROMIUM_PATH' };
  }
  const system = wanted === 'bundled' ? undefined : SYSTEM_CHROMIUMS.find((p) => existsSync(p));
  if (system) return { executablePath: system, args: QUIET_ARGS, source: 'system' };
  const { default: bundled } = await import('@sparticuz/chromium');
  // No WebGL needed: skips unpacking the SwiftShader libraries.
  bundled.setGraphicsMode = false;
  return { executablePath: await bundled.executablePath(), args: [...bundled.args, ...QUIET_ARGS], source: '@sparticuz/chromium' };
}

/** A headless Chromium with its profile in `userDataDir`. */
export async function launchChromium(userDataDir: string): Promise<BrowserContext> {
  const binary = await findChromium();
  try {
    return await chromium.launchPersistentContext(userDataDir, { executablePath: binary.executablePath, headless: true, args: binary.args });
  } catch (err) {
    throw new Error(`Chromium (${binary.source}, ${binary.executablePath}) did not start: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A page and what it did: errors it logged or threw, and every request it made. */
export interface WatchedPage {
  readonly page: Page;
  /** Console errors (CSP refusals among them) and uncaught exceptions, in order. */
  readonly problems: string[];
  readonly requests: string[];
  /** The origins of `requests`. */
  readonly origins: Set<string>;
}

/** A Chromium for one test file, with a throw-away profile that `close` removes. */
export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<WatchedPage>;
  close(): Promise<void>;
}

export async function startTestBrowser(): Promise<TestBrowser> {
  const userDataDir = await tempDir('dsr-chromium-');
  let context: BrowserContext;
  try {
    context = await launchChromium(userDataDir);
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const watched: WatchedPage = { page, problems: [], requests: [], origins: new Set() };
      page.on('console', (m) => { if (m.type() === 'error') watched.problems.push(m.text()); });
      page.on('pageerror', (e) => watched.problems.push(e.message));
      page.on('request', (r) => {
        watched.requests.push(r.url());
        watched.origins.add(new URL(r.url()).origin);
      });
      return watched;
    },
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
