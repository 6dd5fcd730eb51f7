import { firstSignInTexts, signInCsvCopy, signInJsonCopy, signInsAtLeast } from '../../db/queries/worker-record-texts.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { odataContext, pick } from './records.ts';
import { renderedRecordSection } from './rendered-records.ts';

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
export const signInsSection = renderedRecordSection({
  name: 'SignIns',
  tables: ['sign_ins'],
  totalKey: 'signIns',
  title: 'Sign-ins',
  json: {
    path: PACKAGE_PATHS.signInsJson,
    context: odataContext('auditLogs/signIns'),
    copy: (ctx) => signInJsonCopy(ctx.operation.tenantId, ctx.operation.userId),
    first: (ctx, n) => firstSignInTexts(ctx.q, ctx.operation.tenantId, ctx.operation.userId, n),
    atLeast: (ctx, n) => signInsAtLeast(ctx.q, ctx.operation.tenantId, ctx.operation.userId, n),
  },
  csv: {
    path: PACKAGE_PATHS.signInsCsv,
    columns: COLUMNS,
    copy: (ctx) => signInCsvCopy(ctx.operation.tenantId, ctx.operation.userId, COLUMNS),
  },
  preview: {
    columns: ['Date', 'Application', 'IP address', 'Result'],
    cells: (s) => [s.createdDateTime, s.appDisplayName, s.ipAddress, pick(s, 'status.errorCode') === 0 ? 'Success' : pick(s, 'status.failureReason')],
  },
});
