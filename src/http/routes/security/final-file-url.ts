import type { FastifyReply, FastifyRequest } from 'fastify';
import { grantKey, signGrant, verifyGrant } from '../../../auth/signed-grant.ts';
import type { RequestView } from '../../../cases/subject-rights-request.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { GUID_PATTERN } from '../../odata.ts';

/**
 * A browser saves a download to disk as it arrives only when it navigates to the file; a script
 * that fetches it with a token holds all of it in memory first. So a client may ask
 * getFinalReport / getFinalAttachment for a URL instead of the file (`Prefer: dsr.downloadUrl`),
 * after the same permission checks, and navigate to it. The URL is the credential: one file of one
 * case of one tenant, for two minutes, signed with a key of its own (a drive download URL never
 * passes as one). The logger redacts it.
 */
export const FINAL_FILE_URL_SECONDS = 120;
export const FINAL_FILE_PATH = '/downloads/requests/:token';
const PREFERENCE = 'dsr.downloadurl';
const KEY_NAME = 'final-file-url-hmac';

export type FinalFile = 'report' | 'attachment';

export interface FinalFileGrant {
  tenantId: string;
  requestId: string;
  file: FinalFile;
  expires: number;
}

/** Whether the Prefer header (a comma-separated list, RFC 7240) asks for a download URL. */
export function wantsDownloadUrl(request: FastifyRequest): boolean {
  const prefer = request.headers.prefer;
  const values = Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '');
  return values.split(',').some((v) => v.split(';')[0]!.trim().toLowerCase() === PREFERENCE);
}

/** Answers `{ "@microsoft.graph.downloadUrl", expirationDateTime }` for the file of `view`. */
export async function finalFileUrl(deps: AppDeps, reply: FastifyReply, view: RequestView, file: FinalFile): Promise<FastifyReply> {
  const expires = Math.floor(deps.clock().getTime() / 1000) + FINAL_FILE_URL_SECONDS;
  const grant: FinalFileGrant = { tenantId: view.tenant_id, requestId: view.id, file, expires };
  const token = signGrant(await grantKey(deps.db, KEY_NAME), grant);
  return reply
    .code(200)
    .header('cache-control', 'no-store')
    .header('preference-applied', 'dsr.downloadUrl')
    .send({
      '@microsoft.graph.downloadUrl': `${deps.publicUrl()}/downloads/requests/${token}`,
      expirationDateTime: new Date(expires * 1000).toISOString(),
    });
}

/** The grant of a URL made by finalFileUrl; any other token is the same 401. */
export async function verifyFinalFileUrl(deps: AppDeps, token: string): Promise<FinalFileGrant> {
  const grant = verifyGrant<FinalFileGrant>(await grantKey(deps.db, KEY_NAME), token, deps.clock());
  if (!grant || !GUID_PATTERN.test(grant.tenantId) || !GUID_PATTERN.test(grant.requestId) || (grant.file !== 'report' && grant.file !== 'attachment')) {
    throw GraphError.invalidToken('The download URL is not valid or has expired; ask for a new one.');
  }
  return grant;
}
