import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

// The browser tests and benchmarks need a Chromium, and `npm ci && npm test` must find one on a
// machine where nothing was installed by hand. In order: CHROMIUM_PATH, a system Chromium, or the one inside
// the @sparticuz/chromium dev dependency (unpacked to the temp folder on first use, ~2 s).
// CHROMIUM_PATH=bundled skips the system one, to check the bundled path where both exist.

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
const QUIET_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

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
