import type { SerializedError } from 'vitest';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary:
 * the form CI reads to count tests whatever the runner. A file that failed outside its tests (it
 * did not load, a hook threw) and an unhandled error each count as one failure, so the line
 * never says "0 failed" for a red run.
 */
export class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const count = (state: 'passed' | 'failed' | 'skipped') => testModules.reduce((n, m) => n + [...m.children.allTests(state)].length, 0);
    const brokenFiles = testModules.filter((m) => m.state() === 'failed' && [...m.children.allTests('failed')].length === 0).length;
    const failed = count('failed') + brokenFiles + unhandledErrors.length;
    process.stdout.write(`\n${count('passed')} passed, ${failed} failed, ${count('skipped')} skipped\n`);
  }
}
