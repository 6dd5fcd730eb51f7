import { AnonymousCredential, ContainerClient, newPipeline, Pipeline, type RequestPolicyFactory } from '@azure/storage-blob';
import type { StorageLocation } from '../domain/storage-location.ts';
import { createGuardedAgent, type GuardedAgent, type HostResolver } from './guarded-agent.ts';

export interface PackageTarget {
  readonly location: StorageLocation;
  readonly container: ContainerClient;
  readonly guard: GuardedAgent;
  blobName(path: string): string;
  close(): void;
}

/**
 * A container client whose connections go through the DNS guard. The SDK's own retries are off
 * (maxTries 1): the worker retries requests itself, so that every retry is counted in /metrics
 * and a long outage falls back to the operation's backoff instead of blocking a slot.
 */
export function openPackageTarget(
  location: StorageLocation,
  opts: {
    /** The location is an allowed origin (an emulator on a private address). */
    allowPrivate: boolean;
    resolve?: HostResolver | undefined;
    /** Per request; a 4 MiB block over a slow link still fits in 2 minutes. */
    requestTimeoutMs?: number;
    /**
     * An agent shared with other targets (made for the same protocol and allowPrivate), whose
     * connections outlive this target; without it the target has one of its own, destroyed on close.
     */
    guard?: GuardedAgent;
  },
): PackageTarget {
  const guard =
    opts.guard ??
    createGuardedAgent(location.protocol, {
      allowPrivate: opts.allowPrivate,
      ...(opts.resolve ? { resolve: opts.resolve } : {}),
    });
  const useAgent: RequestPolicyFactory = {
    create: (next) => ({
      sendRequest: (request) => {
        request.agent = guard.agent;
        return next.sendRequest(request);
      },
    }),
  };
  const base = newPipeline(new AnonymousCredential(), {
    retryOptions: { maxTries: 1, tryTimeoutInMs: opts.requestTimeoutMs ?? 120_000 },
  });
  const container = new ContainerClient(location.containerUrl, new Pipeline([...base.factories, useAgent], base.options));
  return {
    location,
    container,
    guard,
    blobName: (path) => `${location.prefix}${path}`,
    close: () => {
      if (!opts.guard) guard.destroy();
    },
  };
}
