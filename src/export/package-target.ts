import {
  AnonymousCredential, ContainerClient, newPipeline, Pipeline, type RequestPolicyFactory,
} from '@azure/storage-blob';
import net from 'node:net';
import type { SasFacts } from '../domain/export-failure.ts';
import { createGuardedAgent, type GuardedAgent, type HostResolver } from './guarded-agent.ts';

/** Where a package goes: the container (with its SAS) and the SAS directory, if any. */
export interface ParsedStorageLocation {
  /** Container URL with the SAS query, without a directory. */
  readonly containerUrl: string;
  /** "" for a container SAS; "dir/sub/" for a directory SAS (sr=d). */
  readonly prefix: string;
  readonly origin: string;
  readonly hostname: string;
  readonly protocol: string;
  readonly sas: SasFacts;
}

/**
 * Splits a storage location as the storage-location rules define it (docs/architecture.md#storage-location-rules): `/container[/dir]` on Azure,
 * `/account/container[/dir]` on path-style endpoints (Azurite and other allowed origins).
 */
export function parseStorageLocation(raw: string, pathStyle: boolean): ParsedStorageLocation {
  const url = new URL(raw);
  const segments = url.pathname.split('/').filter(Boolean);
  const containerIndex = pathStyle ? 1 : 0;
  const containerUrl = `${url.origin}/${segments.slice(0, containerIndex + 1).join('/')}${url.search}`;
  const dir = segments.slice(containerIndex + 1).map((s) => decodeURIComponent(s));
  const se = url.searchParams.get('se');
  const expiry = se ? new Date(se) : undefined;
  return {
    containerUrl,
    prefix: dir.length > 0 ? `${dir.join('/')}/` : '',
    origin: url.origin,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    protocol: url.protocol,
    sas: {
      permissions: url.searchParams.get('sp') ?? '',
      expiresAt: expiry && !Number.isNaN(expiry.getTime()) ? expiry : undefined,
    },
  };
}

/** Path-style when the origin is an allowed (emulator) one, as at the POST; otherwise Azure's. */
export function isPathStyle(raw: string, allowedOrigins: readonly string[]): boolean {
  const url = new URL(raw);
  return allowedOrigins.includes(url.origin) || net.isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0 || url.hostname === 'localhost';
}

export interface PackageTarget {
  readonly location: ParsedStorageLocation;
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
export function openPackageTarget(raw: string, opts: {
  allowedOrigins: readonly string[];
  resolve?: HostResolver | undefined;
  /** Per request; a 4 MiB block over a slow link still fits in 2 minutes. */
  requestTimeoutMs?: number;
}): PackageTarget {
  const pathStyle = isPathStyle(raw, opts.allowedOrigins);
  const location = parseStorageLocation(raw, pathStyle);
  const guard = createGuardedAgent(location.protocol, {
    allowPrivate: opts.allowedOrigins.includes(location.origin),
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
    close: () => guard.destroy(),
  };
}
