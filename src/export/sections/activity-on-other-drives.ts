import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { driveActivitySection } from './activity-records.ts';

/**
 * OneDrive/ActivityOnOtherDrives.json and .csv: what the subject did on other users' drives
 * (drive activity whose acting user is the subject). It is personal data about the subject even
 * though it sits in a colleague's drive; only the activity record is exported, not the files.
 */
export const activityOnOtherDrivesSection = driveActivitySection({
  name: 'ActivityOnOtherDrives',
  totalKey: 'activitiesOnOtherDrives',
  title: "The user's activity on other users' drives",
  // The subject is the actor: nobody else's details to leave out.
  scope: 'byActorElsewhere',
  redacts: false,
  paths: { json: PACKAGE_PATHS.activityElsewhereJson, csv: PACKAGE_PATHS.activityElsewhereCsv },
});
