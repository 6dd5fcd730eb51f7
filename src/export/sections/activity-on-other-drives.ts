import { driveActivitiesByActorElsewhere } from '../../db/queries/worker-sources.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { driveActivitySection } from './activity-records.ts';
import { subjectRows } from './records.ts';

/**
 * OneDrive/ActivityOnOtherDrives.json and .csv: what the subject did on other users' drives
 * (drive activity whose acting user is the subject). It is personal data about the subject even
 * though it sits in a colleague's drive; only the activity record is exported, not the files.
 */
export const activityOnOtherDrivesSection = driveActivitySection({
  name: 'ActivityOnOtherDrives',
  totalKey: 'activitiesOnOtherDrives',
  title: "The user's activity on other users' drives",
  rows: subjectRows(driveActivitiesByActorElsewhere),
  paths: { json: PACKAGE_PATHS.activityElsewhereJson, csv: PACKAGE_PATHS.activityElsewhereCsv },
});
