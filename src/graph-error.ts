/**
 * The one error type of the service. Routes throw it, the error handler renders it in Graph's
 * shape, and workers store failures in the same vocabulary (code + message).
 */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After on 429/503 or Allow on 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'GraphError';
  }

  static badRequest(message: string): GraphError {
    return new GraphError(400, 'BadRequest', message);
  }
  /** Entra ID's 400 for a directory object the request describes wrongly (bad values, a UPN taken). */
  static directoryBadRequest(message: string): GraphError {
    return new GraphError(400, 'Request_BadRequest', message);
  }
  /** OneDrive's 400 for invalid names, paths and upload requests. */
  static invalidRequest(message: string): GraphError {
    return new GraphError(400, 'invalidRequest', message);
  }
  /** OneDrive's 416 for an upload fragment that does not start where the session expects. */
  static invalidRange(message: string): GraphError {
    return new GraphError(416, 'invalidRange', message);
  }
  static invalidStorageLocation(message: string): GraphError {
    return new GraphError(400, 'InvalidStorageLocation', message);
  }
  static invalidToken(message: string): GraphError {
    return new GraphError(401, 'InvalidAuthenticationToken', message);
  }
  static forbidden(message: string): GraphError {
    return new GraphError(403, 'Authorization_RequestDenied', message);
  }
  static notFound(message: string): GraphError {
    return new GraphError(404, 'Request_ResourceNotFound', message);
  }
  static itemNotFound(message: string): GraphError {
    return new GraphError(404, 'itemNotFound', message);
  }
  static methodNotAllowed(allow: readonly string[]): GraphError {
    return new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request uri.', {
      allow: allow.join(', '),
    });
  }
  static conflict(code: string, message: string): GraphError {
    return new GraphError(409, code, message);
  }
  static storageLocationAlreadyUsed(): GraphError {
    return new GraphError(409, 'StorageLocationAlreadyUsed', 'The storage location already holds an export; use an empty container for every export.');
  }
  static tooLarge(message: string): GraphError {
    return new GraphError(413, 'RequestEntityTooLarge', message);
  }
  static tooManyRequests(message: string, retryAfterSeconds: number): GraphError {
    return new GraphError(429, 'TooManyRequests', message, { 'retry-after': String(retryAfterSeconds) });
  }
  static serviceUnavailable(message: string, retryAfterSeconds: number): GraphError {
    return new GraphError(503, 'ServiceUnavailable', message, { 'retry-after': String(retryAfterSeconds) });
  }
  /** The content store's disk is full (OneDrive answers 507 insufficientStorage). */
  static insufficientStorage(): GraphError {
    return new GraphError(507, 'insufficientStorage', 'The service has no storage space left for this content; retry later.');
  }
  /** A storage quota is used up: OneDrive's 507 Insufficient Storage with code quotaLimitReached. */
  static quotaLimitReached(message: string): GraphError {
    return new GraphError(507, 'quotaLimitReached', message);
  }
  static internal(): GraphError {
    return new GraphError(500, 'InternalServerError', 'An unexpected error occurred; the details are in the service log.');
  }
}
