import { driveActivitiesOfUser } from '../../db/queries/worker-sources.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { ACTIVITY_CSV_COLUMNS, ACTIVITY_PREVIEW, activityCsvRow, activityJson } from './activity-records.ts';
import { odataContext, recordSection } from './records.ts';
import { redactActivity, redacted } from './redaction.ts';

/** OneDrive/Activity.json and .csv: everything that happened on the subject's drive, by anyone. */
export const activitySection = recordSection({
  name: 'Activity',
  tables: ['drive_activities'],
  totalKey: 'activities',
  title: 'Drive activity',
  rows: (ctx) => redacted(ctx.q, ctx.operation.tenantId, ctx.operation.userId,
    driveActivitiesOfUser(ctx.q, ctx.operation.tenantId, ctx.operation.userId), redactActivity),
  json: { path: PACKAGE_PATHS.activityJson, context: odataContext('driveActivities'), toJson: activityJson },
  csv: { path: PACKAGE_PATHS.activityCsv, columns: ACTIVITY_CSV_COLUMNS, toRow: activityCsvRow },
  preview: ACTIVITY_PREVIEW,
});
