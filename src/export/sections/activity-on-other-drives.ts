import { driveActivitiesByActorElsewhere } from '../../db/queries/worker-sources.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { ACTIVITY_CSV_COLUMNS, ACTIVITY_PREVIEW, activityCsvRow, activityJson } from './activity-records.ts';
import { odataContext, recordSection } from './records.ts';

/**
 * OneDrive/ActivityOnOtherDrives.json and .csv: what the subject did on other users' drives
 * (drive activity whose acting user is the subject). It is personal data about the subject even
 * though it sits in a colleague's drive; only the activity record is exported, not the files.
 */
export const activityOnOtherDrivesSection = recordSection({
  name: 'ActivityOnOtherDrives',
  tables: ['drive_activities'],
  totalKey: 'activitiesOnOtherDrives',
  title: "The user's activity on other users' drives",
  rows: (ctx) => driveActivitiesByActorElsewhere(ctx.q, ctx.operation.tenantId, ctx.operation.userId),
  json: { path: PACKAGE_PATHS.activityElsewhereJson, context: odataContext('driveActivities'), toJson: activityJson },
  csv: { path: PACKAGE_PATHS.activityElsewhereCsv, columns: ACTIVITY_CSV_COLUMNS, toRow: activityCsvRow },
  preview: ACTIVITY_PREVIEW,
});
