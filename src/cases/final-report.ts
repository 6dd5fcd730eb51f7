import type { Queryable } from '../db/pool.ts';
import { csvLine } from '../domain/package-plan.ts';
import { exclusionReason, packageFiles, sectionOf } from './package-files.ts';
import { privacyStatementLines, type PrivacyStatement } from './privacy-statement.ts';
import type { RequestRow } from './subject-rights-request.ts';

export const REPORT_HEADER = ['path', 'section', 'size', 'sha256', 'status', 'reason'] as const;

/**
 * The final report, a chunk at a time: one CSV row per package file (included or excluded, and
 * why), then the tenant's Art. 15 statement, one line per row, after an empty line.
 */
export async function* finalReport(q: Queryable, row: RequestRow, statement: PrivacyStatement | undefined): AsyncGenerator<string> {
  yield csvLine(REPORT_HEADER);
  let chunk = '';
  for await (const f of packageFiles(q, row)) {
    const reason = exclusionReason(f);
    chunk += csvLine([f.path, sectionOf(f.path), f.size, f.sha256, reason === null ? 'included' : 'excluded', reason ?? '']);
    if (chunk.length >= 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}\r\n${csvLine(['GDPR Art. 15 statement'])}`;
  for (const line of privacyStatementLines(statement)) yield csvLine([line]);
}
