import { directoryAuditsOfUser } from '../../db/queries/worker-sources.ts';
import { toGraphDirectoryAudit } from '../../domain/directory-audit.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { odataContext, recordSection, subjectRows } from './records.ts';
import { redactAudit } from './redaction.ts';

/** Directory/AuditLogs.json: directory audits where the subject is initiator or target. */
export const auditLogsSection = recordSection({
  name: 'AuditLogs',
  tables: ['directory_audits'],
  totalKey: 'directoryAudits',
  title: 'Directory audits about or by the user',
  rows: subjectRows(directoryAuditsOfUser, redactAudit),
  json: { path: PACKAGE_PATHS.auditLogs, context: odataContext('auditLogs/directoryAudits'), toJson: toGraphDirectoryAudit },
  preview: {
    columns: ['Date', 'Activity', 'Result'],
    cells: (a) => [a.activityDateTime, a.activityDisplayName, a.result],
  },
});
