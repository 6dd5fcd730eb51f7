import { activityOnOtherDrivesSection } from './activity-on-other-drives.ts';
import { activitySection } from './activity.ts';
import { auditLogsSection } from './audit-logs.ts';
import { driveItemsSection } from './drive-items.ts';
import { exportRequestsSection } from './export-requests.ts';
import { dataDictionarySection } from './data-dictionary.ts';
import { filesSection } from './files.ts';
import { indexHtmlSection } from './index-html.ts';
import { manifestSection } from './manifest.ts';
import { privacyStatementSection } from './privacy-statement.ts';
import { requestInfoSection } from './request-info.ts';
import type { Section } from './section.ts';
import { signInsSection } from './sign-ins.ts';
import { usageReportSection } from './usage-report.ts';
import { userSection } from './user.ts';

/**
 * The package, in upload order: RequestInfo.json first (it claims the container), the data,
 * index.html, manifest.json last (its presence means the package is complete). A new section is
 * a file in this folder and one line here. The drive's files come early: they are uploaded
 * while the sections after them render.
 */
export const SECTIONS: readonly Section[] = [
  requestInfoSection,
  userSection,
  filesSection,
  signInsSection,
  auditLogsSection,
  exportRequestsSection,
  driveItemsSection,
  activitySection,
  usageReportSection,
  activityOnOtherDrivesSection,
  privacyStatementSection,
  dataDictionarySection,
  indexHtmlSection,
  manifestSection,
];
