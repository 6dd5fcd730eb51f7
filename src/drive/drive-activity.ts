import type { DriveActivity } from '../db/queries/drive-activities.ts';
import { itemPathText, type DriveActivityType, type IdentitySet } from '../domain/drive-item.ts';

/** What every activity record of one request shares. */
export interface ActivityContext {
  tenantId: string;
  ownerId: string;
  actor: IdentitySet;
  clientIp: string | null;
  userAgent: string | null;
  appId: string | null;
  now: Date;
}

/** One activity record of a drive action, as the export's Activity section reads it back. */
export function activity(ctx: ActivityContext, type: DriveActivityType, itemId: string | null, segments: readonly string[]): DriveActivity {
  return {
    tenantId: ctx.tenantId,
    userId: ctx.ownerId,
    at: ctx.now,
    type,
    actor: ctx.actor,
    itemId,
    itemPath: itemPathText(segments),
    clientIp: ctx.clientIp,
    userAgent: ctx.userAgent,
    appId: ctx.appId,
  };
}
