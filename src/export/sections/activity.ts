import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { driveActivitySection } from './activity-records.ts';

/** OneDrive/Activity.json and .csv: everything that happened on the subject's drive, by anyone. */
export const activitySection = driveActivitySection({
  name: 'Activity',
  totalKey: 'activities',
  title: 'Drive activity',
  scope: 'ownDrive',
  redacts: true,
  paths: { json: PACKAGE_PATHS.activityJson, csv: PACKAGE_PATHS.activityCsv },
});
