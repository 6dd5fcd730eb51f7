import type { FastifyInstance } from 'fastify';
import { findDriveItem } from '../../../db/queries/drive-items.ts';
import { grantKey, signGrant, verifyGrant } from '../../../auth/signed-grant.ts';
import type { IdentitySet } from '../../../domain/drive-item.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { GUID_PATTERN } from '../../odata.ts';
import { sendContentBytes } from './content-bytes.ts';
import { itemNotFound } from './drive-shared.ts';

/** OneDrive's download URLs are valid for a short time (minutes to an hour); ours for one hour. */
export const DOWNLOAD_URL_LIFETIME_SECONDS = 3600;
export const DOWNLOAD_PATH = '/downloads/:token';
const KEY_NAME = 'download-url-hmac';

/**
 * What a download URL grants: one version of one file (its content hash), until `expires`, on
 * behalf of whoever asked for it (the FileDownloaded record names them, as if they downloaded).
 */
export interface DownloadGrant {
  tenantId: string;
  ownerId: string;
  itemId: string;
  sha256: string;
  expires: number;
  by: IdentitySet;
  appId: string | null;
}

/** The deployment's signing key of drive download URLs. */
export function downloadUrlKey(deps: AppDeps): Promise<Buffer> {
  return grantKey(deps.db, KEY_NAME);
}

export function signDownloadUrl(publicUrl: string, key: Buffer, grant: DownloadGrant): string {
  return `${publicUrl}/downloads/${signGrant(key, grant)}`;
}

function invalidUrl(): GraphError {
  return GraphError.invalidToken('The download URL is not valid or has expired; get a new one from the item.');
}

export function verifyDownloadToken(key: Buffer, token: string, now: Date): DownloadGrant {
  const grant = verifyGrant<DownloadGrant>(key, token, now);
  if (!grant) throw invalidUrl();
  return grant;
}

/**
 * GET {publicUrl}/downloads/{token}: the pre-authenticated @microsoft.graph.downloadUrl. No
 * Authorization (the signed URL is the credential, as on OneDrive), Range and If-None-Match as
 * on `/content`. A URL for content that was replaced or deleted since answers 404.
 */
export function downloadUrlRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { token: string } }>(DOWNLOAD_PATH, async (request, reply) => {
    const grant = verifyDownloadToken(await downloadUrlKey(deps), request.params.token, deps.clock());
    if (![grant.tenantId, grant.ownerId, grant.itemId].every((id) => GUID_PATTERN.test(id))) throw invalidUrl();
    const item = await findDriveItem(deps.db, grant.tenantId, grant.ownerId, grant.itemId);
    if (!item || item.content_sha256 !== grant.sha256) throw itemNotFound();
    return sendContentBytes(deps, request, reply, item, { by: grant.by, appId: grant.appId });
  });
}
