import type { DriveActivityRow } from '../../db/queries/worker-sources.ts';
import { graphDateTime } from '../../domain/formats.ts';
import { odataContext, recordSection } from './records.ts';
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
 * A section of drive activity records (OneDrive/…json and .csv in Graph's driveActivity shape):
 * the same records, columns and preview, only the rows and the files differ.
 */
export function driveActivitySection(spec: {
  readonly name: string;
  readonly totalKey: string;
  readonly title: string;
  readonly rows: (ctx: RenderContext) => AsyncIterable<DriveActivityRow>;
  readonly paths: { readonly json: string; readonly csv: string };
}): Section {
  return recordSection({
    name: spec.name,
    tables: ['drive_activities'],
    totalKey: spec.totalKey,
    title: spec.title,
    rows: spec.rows,
    json: { path: spec.paths.json, context: odataContext('driveActivities'), toJson: activityJson },
    csv: { path: spec.paths.csv, columns: ACTIVITY_CSV_COLUMNS, toRow: activityCsvRow },
    preview: ACTIVITY_PREVIEW,
  });
}
