import { NO_STATEMENT_TEXT, PRIVACY_STATEMENT_TITLE as TITLE, privacyStatementLines, redactionLine } from '../../cases/privacy-statement.ts';
import { countOthersActivityDetails, countOthersAuditAddresses, findPrivacyStatement } from '../../db/queries/privacy-statements.ts';
import { CONTENT_TYPES, PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { graphDateTime } from '../../domain/formats.ts';
import { PRIVACY_STATEMENT_PATH } from '../data-dictionary.ts';
import { REDACTION_REASON } from './redaction.ts';
import type { Section } from './section.ts';

/**
 * PrivacyStatement.json and its part of index.html: the tenant's Art. 15(1)–(2) statement (or a
 * plain sentence that none is set), and what was left out of this package as other people's data.
 */
export const privacyStatementSection: Section = {
  name: 'PrivacyStatement',
  tables: ['privacy_statements'],
  async render(ctx) {
    const { tenantId, userId } = ctx.operation;
    const row = await findPrivacyStatement(ctx.q, tenantId);
    const applied = ctx.redactsOtherActors;
    const activities = applied ? await countOthersActivityDetails(ctx.q, tenantId, userId) : 0;
    const audits = applied ? await countOthersAuditAddresses(ctx.q, tenantId, userId) : 0;
    const redaction = {
      applied,
      reason: applied ? REDACTION_REASON : 'The controller chose to include the IP addresses and user agents of other people.',
      redactedFields: applied
        ? [
            `${PACKAGE_PATHS.activityJson} and ${PACKAGE_PATHS.activityCsv}: clientIp and userAgent of activity by other people (${activities} records)`,
            `${PACKAGE_PATHS.auditLogs}: initiatedBy.user.ipAddress of records initiated by other people (${audits} records)`,
          ]
        : [],
      redactedActivityRecords: activities,
      redactedAuditRecords: audits,
    };
    const body = row
      ? { statement: row.statement, lastModifiedDateTime: graphDateTime(row.updated_at), redaction }
      : { statement: null, note: NO_STATEMENT_TEXT, redaction };
    const file = await ctx.writeFile(PRIVACY_STATEMENT_PATH, CONTENT_TYPES.json, [`${JSON.stringify(body, null, 2)}\n`]);
    const lines = [...privacyStatementLines(row?.statement), redactionLine(applied, { activities, audits })];
    return {
      files: [{ path: file.path, title: TITLE, records: null, size: file.size }],
      preview: { title: TITLE, columns: ['Information'], rows: lines.map((l) => [l]), total: lines.length, links: [file.path] },
    };
  },
};
