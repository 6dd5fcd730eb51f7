import { driveActivitiesOfUser } from '../../db/queries/worker-sources.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { driveActivitySection } from './activity-records.ts';
import { subjectRows } from './records.ts';
import { redactActivity } from './redaction.ts';

/** OneDrive/Activity.json and .csv: everything that happened on the subject's drive, by anyone. */
export const activitySection = driveActivitySection({
  name: 'Activity',
  totalKey: 'activities',
  title: 'Drive activity',
  rows: subjectRows(driveActivitiesOfUser, redactActivity),
  paths: { json: PACKAGE_PATHS.activityJson, csv: PACKAGE_PATHS.activityCsv },
});
