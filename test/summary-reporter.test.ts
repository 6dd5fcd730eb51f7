import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Inside the checkout, so that the fixture's `import 'vitest'` resolves to our node_modules.
const dir = path.join(ROOT, 'test-artifacts', `summary-reporter-${randomUUID().slice(0, 8)}`);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the summary line counts a test file that fails to load as a failure, not as "0 failed"', async () => {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'passing.test.ts'), `import { expect, test } from 'vitest';\ntest('ok', () => { expect(1).toBe(1); });\n`);
  await writeFile(path.join(dir, 'broken.test.ts'), `import { test } from 'vitest';\nthrow new Error('cannot load');\ntest('never collected', () => {});\n`);
  await writeFile(
    path.join(dir, 'vitest.config.ts'),
    [
      `import { defineConfig } from 'vitest/config';`,
      `import { SummaryReporter } from ${JSON.stringify(path.join(ROOT, 'test', 'support', 'summary-reporter.ts'))};`,
      `export default defineConfig({ test: { include: ['*.test.ts'], reporters: [new SummaryReporter()] } });`,
    ].join('\n'),
  );

  const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir, '--config', path.join(dir, 'vitest.config.ts')],
      { cwd: dir, env: { ...process.env, CI: 'true' } },
      (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
  expect(result.stdout).toContain('1 passed, 1 failed, 0 skipped');
  expect(result.code).toBe(1);
});
