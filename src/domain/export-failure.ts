// How an export failure is handled (docs/architecture.md#operation-lifecycle): permanent failures end the operation at once
// with a code of the Graph vocabulary; transient ones are retried with backoff. Pure: the error is
// described by plain fields, so the rules are tested without a storage service.

export type ExportFailure =
  | { readonly kind: 'permanent'; readonly code: string; readonly message: string }
  | { readonly kind: 'transient'; readonly cause: 'storage' | 'database' | 'content'; readonly message: string };

/** The fields of an @azure/storage-blob RestError (or a Node network error) the rules look at. */
export interface StorageErrorLike {
  readonly statusCode?: number | undefined;
  /** RestError.code: the storage error code, or a Node code (ECONNREFUSED, REQUEST_SEND_ERROR). */
  readonly code?: string | undefined;
  readonly errorCode?: string | undefined;
  readonly message?: string | undefined;
}

/** What the worker was doing: it decides which permission a 403 is about. */
export type StorageAction = 'write' | 'read';

export interface SasFacts {
  /** The SAS `sp` value, e.g. "racwl". */
  readonly permissions: string;
  readonly expiresAt: Date | undefined;
}

const PERMISSION_NAMES: Record<string, string> = { c: 'create (c)', w: 'write (w)', r: 'read (r)', l: 'list (l)' };

function permanent(code: string, message: string): ExportFailure {
  return { kind: 'permanent', code, message };
}

/** The SAS has expired (checked before any request, and to explain a 403). */
export function sasExpired(sas: SasFacts, now: Date): boolean {
  return sas.expiresAt !== undefined && sas.expiresAt.getTime() <= now.getTime();
}

export function expiredFailure(sas: SasFacts): ExportFailure {
  return permanent(
    'StorageLocationExpired',
    `The storage location's SAS expired${sas.expiresAt ? ` at ${sas.expiresAt.toISOString()}` : ''} before the export was written; submit a new request with a SAS valid for longer.`,
  );
}

export function alreadyUsedFailure(): ExportFailure {
  return permanent(
    'StorageLocationAlreadyUsed',
    'The storage location already holds an export (RequestInfo.json exists); use an empty container for every export.',
  );
}

export function userNotFoundFailure(userId: string): ExportFailure {
  return permanent('UserNotFound', `User '${userId}' was deleted before the export ran; there is nothing left to export.`);
}

export function invalidStorageLocationFailure(message: string): ExportFailure {
  return permanent('InvalidStorageLocation', message);
}

/** Node network error codes that mean "try again later". */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'REQUEST_SEND_ERROR',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Classifies a failed storage request. `action` is what was attempted; `sas` explains 403s.
 * A BlobAlreadyExists on RequestInfo.json is decided by the caller (it may be our own resume).
 */
export function classifyStorageError(err: StorageErrorLike, action: StorageAction, sas: SasFacts, now: Date): ExportFailure {
  const status = err.statusCode;
  const code = err.errorCode ?? err.code ?? '';
  const what = `${status ?? ''} ${code}`.trim();
  if (status === undefined || status === 0) {
    return { kind: 'transient', cause: 'storage', message: `Storage could not be reached (${code || 'network error'}).` };
  }
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'transient', cause: 'storage', message: `Storage answered ${what}.` };
  }
  if (status === 403) {
    if (sasExpired(sas, now) || /time frame|expired/i.test(err.message ?? '')) return expiredFailure(sas);
    if (/^Authorization(Permission|ResourceType|Service)Mismatch$/.test(code) || code === '') {
      const needed = action === 'read' ? ['r'] : ['c', 'w'];
      const missing = needed.filter((p) => !sas.permissions.includes(p));
      const names = (missing.length > 0 ? missing : needed).map((p) => PERMISSION_NAMES[p]).join(' and ');
      return permanent(
        'StorageLocationAccessDenied',
        missing.length > 0
          ? `The storage location's SAS lacks the ${names} permission needed to ${action} the package (storage answered ${what}).`
          : `Storage refused to let the SAS ${action} blobs (${what}); grant the ${names} permission${needed.length > 1 ? 's' : ''} (a stored access policy may be restricting it).`,
      );
    }
    if (code === 'AuthorizationSourceIPMismatch') {
      return permanent('StorageLocationAccessDenied', `The storage location's SAS does not allow this service's IP address (storage answered ${what}).`);
    }
    if (code === 'AuthorizationProtocolMismatch') {
      return permanent('StorageLocationAccessDenied', `The storage location's SAS does not allow the protocol used (storage answered ${what}).`);
    }
    return permanent(
      'StorageLocationAccessDenied',
      `Storage refused the SAS (${what}): its signature is not valid any more (revoked access policy or rotated account key).`,
    );
  }
  if (status === 404) {
    return permanent('StorageLocationNotFound', `The storage location's container does not exist (storage answered ${what}).`);
  }
  if (status === 409 && code === 'ContainerBeingDeleted') {
    return permanent('StorageLocationNotFound', `The storage location's container is being deleted (storage answered ${what}).`);
  }
  if (status === 409) {
    // A blob lease held by someone else, an operation in progress: may clear up by itself.
    return { kind: 'transient', cause: 'storage', message: `Storage answered ${what}.` };
  }
  return permanent('InternalServerError', `Storage refused a request of the export (${what}).`);
}

/** Whether a storage error (no status: network) is worth retrying within the same attempt. */
export function isTransientStorageError(err: StorageErrorLike): boolean {
  const status = err.statusCode;
  if (status === undefined || status === 0) return TRANSIENT_NETWORK_CODES.has(err.code ?? '') || err.code === undefined;
  return status === 408 || status === 429 || status >= 500;
}

export function exhaustedFailure(attempts: number, last: string): ExportFailure {
  return permanent('ServiceUnavailable', `The export did not finish after ${attempts} attempts; the last one failed with: ${last}`);
}
