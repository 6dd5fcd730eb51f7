import { AnonymousCredential, ContainerClient, newPipeline, Pipeline, type BlockBlobClient, type RequestPolicyFactory } from '@azure/storage-blob';
import type { StorageLocation } from '../domain/storage-location.ts';
import type { GuardedAgent } from './guarded-agent.ts';
import { putBlob, type BlobTransport, type PutBlobRequest } from './put-blob.ts';

/** A blob of the package: the SDK's client (blocks, reads) and a Put Blob of a body in one request (put-blob.ts). */
export interface PackageBlob {
  readonly client: BlockBlobClient;
  put(body: Buffer, request: PutBlobRequest): Promise<void>;
}

export interface PackageTarget {
  readonly location: StorageLocation;
  readonly container: ContainerClient;
  /** The blob of a package path (under the SAS's directory, if it has one). */
  blob(path: string): PackageBlob;
}

/**
 * The URLs (SAS included) the SDK's ContainerClient.getBlockBlobClient(name).url gives, without
 * building that client (about 20 µs per blob). The SDK encodes each segment of the name, appends
 * it to the container's path and escapes the whole path once more, which leaves an encoded
 * segment as it is but for "'" (as %27); the container's part is the same for every name.
 * test/put-blob.test.ts holds the two equal on hostile names.
 */
export function blobUrls(containerUrl: string): (name: string) => string {
  const url = new URL(containerUrl);
  const escaped = encodeURIComponent(url.pathname).replaceAll('%2F', '/').replaceAll("'", '%27').replaceAll('%25', '%');
  const base = `${url.origin}${escaped.endsWith('/') ? escaped : `${escaped}/`}`;
  return (name) => {
    const segments = name.split('/');
    // The URL would resolve them, and the request go to another path than the name says (package
    // paths never have them: package-plan.ts).
    if (segments.some((s) => s === '.' || s === '..')) throw new Error('a blob name with a "." or ".." segment');
    return `${base}${segments.map((s) => encodeURIComponent(s).replaceAll("'", '%27')).join('/')}${url.search}`;
  };
}

/**
 * The blob `name` of `container` (its URL from `urlOf`, blobUrls of the container), its
 * single-request uploads travelling as `transport` says; the SDK's client is built only when asked for.
 */
export function packageBlob(container: ContainerClient, urlOf: (name: string) => string, name: string, transport: BlobTransport): PackageBlob {
  let client: BlockBlobClient | undefined;
  const url = urlOf(name);
  return {
    get client() {
      return (client ??= container.getBlockBlobClient(name));
    },
    put: (body, request) => putBlob(url, body, request, transport),
  };
}

/**
 * A container client whose connections go through the DNS guard: `guard`, the worker's agent
 * for this protocol, shared with its other exports. The SDK's own retries are off (maxTries 1):
 * the worker retries requests itself, so that every retry is counted in /metrics and a long
 * outage falls back to the operation's backoff instead of blocking a slot.
 */
export function openPackageTarget(
  location: StorageLocation,
  guard: GuardedAgent,
  /** Per request; a 4 MiB block over a slow link still fits in 2 minutes. */
  requestTimeoutMs = 120_000,
): PackageTarget {
  const useAgent: RequestPolicyFactory = {
    create: (next) => ({
      sendRequest: (request) => {
        request.agent = guard.agent;
        return next.sendRequest(request);
      },
    }),
  };
  const base = newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1, tryTimeoutInMs: requestTimeoutMs } });
  const container = new ContainerClient(location.containerUrl, new Pipeline([...base.factories, useAgent], base.options));
  const transport: BlobTransport = { agent: guard.agent, timeoutMs: requestTimeoutMs };
  const urlOf = blobUrls(container.url);
  return {
    location,
    container,
    // One ContainerClient and pipeline per export; a blob's SDK client only for blocks and reads.
    blob: (path) => packageBlob(container, urlOf, `${location.prefix}${path}`, transport),
  };
}
