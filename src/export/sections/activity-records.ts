import type { DriveActivityRow } from '../../db/queries/worker-sources.ts';
import { graphDateTime } from '../../domain/formats.ts';
import { activityCsvCopy, activityJsonCopy, firstActivityTexts, type ActivityScope } from '../../db/queries/worker-record-texts.ts';
import { odataContext } from './records.ts';
import { renderedRecordSection } from './rendered-records.ts';
import type { RenderContext, Section } from './section.ts';

// Drive activity as the package writes it, shared by the subject's own drive (Activity) and
// what the subject did on other drives (ActivityOnOtherDrives).

export const ACTIVITY_CSV_COLUMNS = ['id', 'activityDateTime', 'activityType', 'actorId', 'actorName', 'itemId', 'itemPath', 'clientIp', 'userAgent', 'appId'];

export function activityJson(a: DriveActivityRow): Record<string, unknown> {
  return {
    id: a.id,
    activityDateTime: graphDateTime(a.activity_at),
    activityType: a.activity_type,
    actor: a.actor,
    itemId: a.item_id,
    itemPath: a.item_path,
    clientIp: a.client_ip,
    userAgent: a.user_agent,
    appId: a.app_id,
  };
}

function actorName(actor: Record<string, unknown>): string {
  const who = (actor.user ?? actor.application ?? actor) as Record<string, unknown>;
  const name = who.displayName ?? who.userPrincipalName ?? who.id;
  return typeof name === 'string' ? name : '';
}

export function activityCsvRow(a: DriveActivityRow): (string | null)[] {
  const who = 'user' in a.actor ? a.actor.user : a.actor.application;
  return [
    a.id,
    graphDateTime(a.activity_at),
    a.activity_type,
    String(who.id ?? ''),
    actorName(a.actor),
    a.item_id,
    a.item_path,
    a.client_ip,
    a.user_agent,
    a.app_id,
  ];
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
      copy: async (ctx) => activityJsonCopy(spec.scope, ctx.operation.tenantId, ctx.operation.userId, redact(ctx)),
      first: async (ctx, n) => firstActivityTexts(ctx.q, spec.scope, ctx.operation.tenantId, ctx.operation.userId, redact(ctx), n),
    },
    csv: {
      path: spec.paths.csv,
      columns: ACTIVITY_CSV_COLUMNS,
      copy: async (ctx) => activityCsvCopy(spec.scope, ctx.operation.tenantId, ctx.operation.userId, redact(ctx)),
    },
    preview: ACTIVITY_PREVIEW,
  });
}
