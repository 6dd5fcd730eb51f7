import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { alreadyUsedFailure } from '../domain/export-failure.ts';
import type { PackageBlob } from '../export/package-target.ts';
import { storageErrorFacts, uploadBuffer, type UploadOptions } from '../export/upload-file.ts';
import { FailureError } from './export-context.ts';

/** What tells this operation's RequestInfo.json from another's. */
export interface RequestInfoIdentity {
  readonly operationId: string;
  readonly sha256: string;
}

/**
 * Uploads RequestInfo.json, which claims the container for the operation: only where no blob
 * is yet (If-None-Match: *) until the operation has claimed it, unconditionally after that (a
 * snapshot rendered again after a crash states its own instant). A blob already there that is
 * not this operation's fails the export as "used"; one of an earlier attempt that died between
 * the upload and its checkpoint is rewritten, as a resume.
 */
export async function uploadRequestInfo(
  blob: PackageBlob,
  body: Buffer,
  ours: RequestInfoIdentity,
  claimed: boolean,
  opts: UploadOptions,
  log: Logger,
): Promise<void> {
  const upload = (ifNoneMatch: boolean) => uploadBuffer(blob, body, { ...opts, ifNoneMatch });
  try {
    await upload(!claimed);
  } catch (err) {
    const facts = storageErrorFacts(err);
    const conflict = (facts.statusCode === 409 && facts.errorCode === 'BlobAlreadyExists') || facts.statusCode === 412;
    if (!conflict) throw err;
    if (!(await isOurRequestInfo(blob, ours, opts.signal))) throw new FailureError(alreadyUsedFailure());
    log.info('RequestInfo.json already written by an earlier attempt; resuming');
    await upload(false);
  }
}

/**
 * The same bytes, or a RequestInfo.json of this operation (an earlier attempt's snapshot). Needs
 * read (r) on the SAS; without it a conflict cannot be proven ours and counts as "used".
 */
async function isOurRequestInfo(blob: PackageBlob, ours: RequestInfoIdentity, signal: AbortSignal): Promise<boolean> {
  try {
    const existing = await blob.client.downloadToBuffer(0, undefined, { abortSignal: signal });
    if (createHash('sha256').update(existing).digest('hex') === ours.sha256) return true;
    return (JSON.parse(existing.toString('utf8')) as { operationId?: unknown }).operationId === ours.operationId;
  } catch {
    return false;
  }
}
