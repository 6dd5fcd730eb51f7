import { toGraphSignIn } from '../../domain/sign-in.ts';
import { signInsOfUser } from '../../db/queries/worker-sources.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { odataContext, pick, recordSection, subjectRows } from './records.ts';

const COLUMNS = [
  'id',
  'createdDateTime',
  'userPrincipalName',
  'userDisplayName',
  'appId',
  'appDisplayName',
  'ipAddress',
  'clientAppUsed',
  'isInteractive',
  'resourceDisplayName',
  'conditionalAccessStatus',
  'status.errorCode',
  'status.failureReason',
  'location.city',
  'location.countryOrRegion',
  'deviceDetail.operatingSystem',
  'deviceDetail.browser',
];

/** Directory/SignIns.json and .csv: the subject's sign-ins (Graph's signIn). */
export const signInsSection = recordSection({
  name: 'SignIns',
  tables: ['sign_ins'],
  totalKey: 'signIns',
  title: 'Sign-ins',
  rows: subjectRows(signInsOfUser),
  json: { path: PACKAGE_PATHS.signInsJson, context: odataContext('auditLogs/signIns'), toJson: toGraphSignIn },
  csv: {
    path: PACKAGE_PATHS.signInsCsv,
    columns: COLUMNS,
    toRow: (row) => {
      const signIn = toGraphSignIn(row);
      return COLUMNS.map((c) => pick(signIn, c));
    },
  },
  preview: {
    columns: ['Date', 'Application', 'IP address', 'Result'],
    cells: (s) => [s.createdDateTime, s.appDisplayName, s.ipAddress, pick(s, 'status.errorCode') === 0 ? 'Success' : pick(s, 'status.failureReason')],
  },
});
