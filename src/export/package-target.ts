import { AnonymousCredential, ContainerClient, newPipeline, Pipeline, type RequestPolicyFactory } from '@azure/storage-blob';
import type { StorageLocation } from '../domain/storage-location.ts';
import type { GuardedAgent } from './guarded-agent.ts';

export interface PackageTarget {
  readonly location: StorageLocation;
  readonly container: ContainerClient;
  blobName(path: string): string;
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
  return { location, container, blobName: (path) => `${location.prefix}${path}` };
}
