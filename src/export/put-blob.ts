import { RestError } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

/**
 * Put Blob (one request: the body becomes a block blob) straight over Node's HTTP client, for the
 * bodies of a package that fit in one request: most files of most packages, often a few KiB.
 *
 * Why not the storage SDK's `upload()`: its pipeline (operation serialisation, ten policies,
 * tracing, response deserialisation) costs about 0.4 ms of CPU per request against 0.17 ms for
 * the request itself (2,000 uploads of 1–8 KiB into Azurite, measured in the same process), and
 * the worker's CPU per small file is what bounds a package of thousands of them. Everything else
 * (blocks, reads, containers) stays with the SDK, and errors come out as the SDK's: a RestError
 * with the status, the storage error code (`code`, `details.errorCode`) and storage's message, or
 * with the network error's code, so that retries and failure messages treat both alike.
 */

/** The REST version sent; Put Blob with these headers behaves the same in every recent one. */
const REST_VERSION = '2025-11-05';
/** Storage's error bodies are a few hundred bytes; more is not read. */
const MAX_ERROR_BODY = 16 * 1024;

export interface PutBlobRequest {
  readonly contentType: string;
  /** `attachment` for drive files: a browser downloads them instead of rendering them. */
  readonly contentDisposition?: string | undefined;
  /** If-None-Match: * (only where no blob is yet): RequestInfo.json's claim of the container. */
  readonly ifNoneMatch?: boolean | undefined;
  readonly signal: AbortSignal;
}

/** How the requests travel: the export's guarded agent for the URL's protocol, and a time limit per request. */
export interface BlobTransport {
  readonly agent: http.Agent;
  readonly timeoutMs: number;
}

/** The <Code> or <Message> of storage's XML error body, its five entities undone. */
function xmlField(body: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body);
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return m?.[1]!.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => entities[e]!);
}

function storageError(status: number, headerCode: string | undefined, body: string): RestError {
  const errorCode = headerCode ?? xmlField(body, 'Code');
  const err = new RestError(xmlField(body, 'Message') ?? `Storage answered ${status}${errorCode ? ` ${errorCode}` : ''}.`, {
    statusCode: status,
    ...(errorCode ? { code: errorCode } : {}),
  });
  err.details = { errorCode };
  return err;
}

/** `url`: the blob's URL with the SAS, as the SDK's BlockBlobClient has it; never part of an error. */
export async function putBlob(url: string, body: Buffer, request: PutBlobRequest, transport: BlobTransport): Promise<void> {
  const { signal } = request;
  signal.throwIfAborted();
  const headers: http.OutgoingHttpHeaders = {
    'x-ms-version': REST_VERSION,
    'x-ms-client-request-id': randomUUID(),
    'x-ms-blob-type': 'BlockBlob',
    'content-length': body.length,
    'x-ms-blob-content-type': request.contentType,
  };
  if (request.contentDisposition) headers['x-ms-blob-content-disposition'] = request.contentDisposition;
  if (request.ifNoneMatch) headers['if-none-match'] = '*';
  const send = url.startsWith('https:') ? https.request : http.request;
  return new Promise<void>((resolve, reject) => {
    const networkError = (err: NodeJS.ErrnoException) => {
      // An abort is the caller's, as the SDK reports it; anything else is the network's.
      if (signal.aborted) return reject(signal.reason as Error);
      if (err.name === 'AbortError') return reject(err);
      reject(new RestError(err.message, { code: err.code ?? RestError.REQUEST_SEND_ERROR }));
    };
    const req = send(url, { method: 'PUT', headers, agent: transport.agent, signal }, (res) => {
      res.once('error', networkError);
      const status = res.statusCode ?? 0;
      if (status === 201) {
        res.resume();
        res.once('end', resolve);
        return;
      }
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        if (length < MAX_ERROR_BODY) chunks.push(chunk);
        length += chunk.length;
      });
      res.once('end', () => {
        const text = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8');
        const code = res.headers['x-ms-error-code'];
        reject(storageError(status, typeof code === 'string' ? code : undefined, text));
      });
    });
    req.setTimeout(transport.timeoutMs, () =>
      req.destroy(Object.assign(new Error(`no answer from storage within ${transport.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.once('error', networkError);
    req.end(body);
  });
}
