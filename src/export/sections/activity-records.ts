import { activityAtLeast, activityCsvCopy, activityJsonCopy, firstActivityTexts, type ActivityScope } from '../../db/queries/worker-record-texts.ts';
import { odataContext } from './records.ts';
import { renderedRecordSection } from './rendered-records.ts';
import type { RenderContext, Section } from './section.ts';

// Drive activity as the package writes it, shared by the subject's own drive (Activity) and
// what the subject did on other drives (ActivityOnOtherDrives).

export const ACTIVITY_CSV_COLUMNS = ['id', 'activityDateTime', 'activityType', 'actorId', 'actorName', 'itemId', 'itemPath', 'clientIp', 'userAgent', 'appId'];

/** The name of a drive activity's actor: its user's, else its application's, else its own. */
export function actorName(actor: Record<string, unknown>): string {
  const who = (actor.user ?? actor.application ?? actor) as Record<string, unknown>;
  const name = who.displayName ?? who.userPrincipalName ?? who.id;
  return typeof name === 'string' ? name : '';
}

export const ACTIVITY_PREVIEW = {
  columns: ['Date', 'Activity', 'By', 'Item'],
  cells: (a: Record<string, unknown>) => [a.activityDateTime, a.activityType, actorName(a.actor as Record<string, unknown>), a.itemPath],
};

/**
 * A section of drive activity records (OneDrive/…json and .csv in Graph's driveActivity shape),
 * rendered by PostgreSQL: the same records, columns and preview, only the rows and the files
 * differ. Other actors are redacted as the tenant's privacy statement says, when `redacts`.
 */
export function driveActivitySection(spec: {
  readonly name: string;
  readonly totalKey: string;
  readonly title: string;
  readonly scope: ActivityScope;
  readonly redacts: boolean;
  readonly paths: { readonly json: string; readonly csv: string };
}): Section {
  const redact = (ctx: RenderContext) => spec.redacts && ctx.redactsOtherActors;
  return renderedRecordSection({
    name: spec.name,
    tables: ['drive_activities'],
    totalKey: spec.totalKey,
    title: spec.title,
    json: {
      path: spec.paths.json,
      context: odataContext('driveActivities'),
      copy: (ctx) => activityJsonCopy(spec.scope, ctx.operation.tenantId, ctx.operation.userId, redact(ctx)),
      first: async (ctx, n) => firstActivityTexts(ctx.q, spec.scope, ctx.operation.tenantId, ctx.operation.userId, redact(ctx), n),
      atLeast: (ctx, n) => activityAtLeast(ctx.q, spec.scope, ctx.operation.tenantId, ctx.operation.userId, n),
    },
    csv: {
      path: spec.paths.csv,
      columns: ACTIVITY_CSV_COLUMNS,
      copy: (ctx) => activityCsvCopy(spec.scope, ctx.operation.tenantId, ctx.operation.userId, redact(ctx)),
    },
    preview: ACTIVITY_PREVIEW,
  });
}
