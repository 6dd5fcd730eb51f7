import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processesMentioning, runCli, startCli, stopCli } from './support/cli.ts';

// `dsr-export demo` as a new user runs it (issue 5): the whole path on the embedded default, in
// child processes. Small tenants keep it quick; the path is the same as with the defaults.

const SMALL = ['--users', '1', '--files', '4'];
const leftovers: string[] = [];

/** The value after `label` on its own line of the demo's output. */
function field(output: string, label: RegExp): string {
  const m = new RegExp(`^\\s*${label.source}\\s*(\\S+)`, 'm').exec(output);
  expect(m, `no ${label} in:\n${output}`).not.toBeNull();
  return m![1]!;
}

async function refused(url: string): Promise<boolean> {
  return fetch(url).then(
    () => false,
    () => true,
  );
}

afterAll(async () => {
  for (const dir of leftovers) await rm(dir, { recursive: true, force: true });
});

describe('dsr-export demo', () => {
  it('runs to completion: exit 0, the package verified, index.html on disk, nothing left running', async () => {
    const r = await runCli(['demo', ...SMALL]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const copy = field(r.stdout, /a copy on disk:/);
    leftovers.push(copy);
    expect(r.stdout).toMatch(/^Export [0-9a-f-]{36} complete and verified in [\d.]+ s:$/m);
    const manifest = JSON.parse(await readFile(path.join(copy, 'manifest.json'), 'utf8')) as { files: unknown[] };
    expect(r.stdout).toMatch(
      new RegExp(`^  ${manifest.files.length} files, .* \\(\\+ manifest\\.json, signed\\), every SHA-256 and the signature checked$`, 'm'),
    );
    const index = field(r.stdout, /open it: xdg-open/);
    expect(index).toBe(path.join(copy, 'index.html'));
    expect(await readFile(index, 'utf8')).toContain('<h1>Personal data export</h1>');
    expect(r.stdout).toContain(`file://${index}`);
    // No secret on the terminal: the container's SAS is shown with its signature redacted.
    expect(field(r.stdout, /package in the container:/)).toMatch(/sig=REDACTED$/);

    // Everything it started is gone: its data folder, its PostgreSQL, its API and its Azurite.
    const [, api, azurite, dataDir] = /^\s+API (\S+), Azurite (\S+), data in (\S+)$/m.exec(r.stdout)!;
    expect(existsSync(dataDir!)).toBe(false);
    expect(await processesMentioning(dataDir!)).toEqual([]);
    expect(await refused(`${api}/healthz`)).toBe(true);
    expect(await refused(azurite!)).toBe(true);
  }, 120_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '--keep prints URLs, a token and a curl command that works, and stops cleanly on %s',
    async (signal) => {
      const demo = await startCli(['demo', '--keep', ...SMALL], {}, /^\s+try:\s+curl -s -H "Authorization: Bearer (\S+)" (\S+)$/);
      try {
        const [, token, location] = demo.match;
        const output = demo.output();
        leftovers.push(field(output, /a copy on disk:/));
        const api = field(output, /API:/);
        const indexUrl = field(output, /index\.html:/);
        expect(location).toMatch(new RegExp(`^${api}/v1\\.0/dataPolicyOperations/[0-9a-f-]{36}$`));

        // What the printed curl command does.
        const res = await fetch(location!, { headers: { Authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ status: 'complete', progress: 100 });
        const page = await fetch(indexUrl);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('<h1>Personal data export</h1>');
        // The console sign-in link: its nonce buys a session once.
        const link = /#link=(\S+)/.exec(field(output, /console:/))![1];
        expect(
          (await fetch(`${api}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ link }) })).status,
        ).toBe(200);

        const dataDir = field(output, /API \S+, Azurite \S+, data in/);
        expect(await processesMentioning(path.join(dataDir, 'postgres'))).not.toEqual([]);
        expect(await stopCli(demo.child, signal)).toBe(0);
        expect(await processesMentioning(dataDir)).toEqual([]);
        expect(existsSync(dataDir)).toBe(false);
        expect(await refused(location!)).toBe(true);
        expect(await refused(indexUrl)).toBe(true);
      } finally {
        await stopCli(demo.child, 'SIGKILL', 5_000);
      }
    },
    120_000,
  );
});
