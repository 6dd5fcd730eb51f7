import { selectDailyActivityCounts } from '../../db/queries/worker-sources.ts';
import { CONTENT_TYPES, csvLine, PACKAGE_PATHS, USAGE_REPORT_HEADER, usageReportRows } from '../../domain/package-plan.ts';
import type { Section } from './section.ts';

/** OneDrive/UsageReport.csv: drive activity per UTC day and type, counted in SQL. */
export const usageReportSection: Section = {
  name: 'UsageReport',
  tables: ['drive_activities'],
  async render(ctx) {
    const rows = usageReportRows(await selectDailyActivityCounts(ctx.q, ctx.operation.tenantId, ctx.operation.userId));
    const file = await ctx.writeFile(PACKAGE_PATHS.usageReport, CONTENT_TYPES.csv, [csvLine(USAGE_REPORT_HEADER), ...rows.map(csvLine)]);
    return { files: [{ path: file.path, title: 'Drive activity per day', records: rows.length, size: file.size }] };
  },
};
