import { rm } from 'node:fs/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../bench/support/chromium.ts';
import { tempDir } from './harness.ts';

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
      page.on('console', (m) => {
        if (m.type() === 'error') watched.problems.push(m.text());
      });
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
