import type { FastifyInstance } from 'fastify';
import { sumDriveFileSizes } from '../../../db/queries/drive-items.ts';
import { DRIVE_QUOTA_BYTES } from '../../../domain/drive-item.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { graphDateTime, rejectUnknownOptions } from '../../odata.ts';
import { resolveDriveOwner } from './drive-shared.ts';

/**
 * GET /{version}/users/{id | upn}/drive, /drives/{driveId} and /me/drive: one business drive per
 * user, whose id is the owner's object id, with its quota (used = the bytes of its files).
 */
export function getDriveRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string }; Querystring: Record<string, string> }>('/users/:user/drive', async (request, reply) => {
    rejectUnknownOptions(request.query, []);
    const owner = await resolveDriveOwner(deps, request.caller, request.params.user, 'read');
    const used = await sumDriveFileSizes(deps.db, owner.tenant_id, owner.id);
    const base = graphBase(deps, request.graphVersion);
    return sendGraphJson(reply, 200, {
      '@odata.context': /^\/[^/]+\/drives\//i.test(request.originalUrl)
        ? `${base}/$metadata#drives/$entity`
        : `${base}/$metadata#users('${owner.id}')/drive/$entity`,
      id: owner.id,
      driveType: 'business',
      name: 'OneDrive',
      createdDateTime: graphDateTime(owner.created_at),
      webUrl: `${base}/drives/${owner.id}`,
      owner: { user: { id: owner.id, displayName: owner.display_name } },
      quota: {
        deleted: 0,
        remaining: Math.max(0, DRIVE_QUOTA_BYTES - used),
        state: used >= DRIVE_QUOTA_BYTES ? 'exceeded' : used >= DRIVE_QUOTA_BYTES * 0.9 ? 'nearing' : 'normal',
        total: DRIVE_QUOTA_BYTES,
        used,
      },
    });
  });
}
