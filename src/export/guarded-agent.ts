import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPrivateAddress } from '../domain/private-address.ts';

/** Resolves a host name to its addresses; injectable so tests can point a name anywhere. */
export type HostResolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: HostResolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** Thrown (through the SDK) when a storage host resolves to an address it must never reach. */
export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS';
  constructor(
    readonly hostname: string,
    readonly address: string,
  ) {
    super(`storage host ${hostname} resolves to ${address}, a loopback, private, link-local or metadata address`);
    this.name = 'BlockedAddressError';
  }
}

/**
 * Whether a request failed because the guard refused its host. The storage SDK may wrap the
 * lookup's error and keep only its message; either way it is a refusal, never a transient failure.
 */
export function isBlockedAddress(err: unknown): boolean {
  if ((err as { code?: string } | undefined)?.code === 'EBLOCKEDADDRESS') return true;
  return /EBLOCKEDADDRESS|resolves to .* a loopback/.test(String((err as Error | undefined)?.message));
}

export interface GuardedAgent {
  readonly agent: http.Agent;
  destroy(): void;
}

/**
 * An HTTP(S) agent whose DNS lookup refuses loopback, private, link-local and metadata
 * addresses (docs/architecture.md#storage-location-rules): a storage name that resolves there — DNS rebinding included, since
 * the check runs on every new connection — never gets a byte. `allowPrivate` is set only for
 * origins listed in DSR_STORAGE_ALLOW (Azurite on 127.0.0.1).
 */
export function createGuardedAgent(protocol: string, opts: { allowPrivate: boolean; resolve?: HostResolver }): GuardedAgent {
  const resolve = opts.resolve ?? systemResolver;
  const lookup = ((hostname: string, options: { all?: boolean; family?: number | string }, callback: (...args: unknown[]) => void) => {
    resolve(hostname).then(
      (all) => {
        const family = options.family === 6 || options.family === 'IPv6' ? 6 : options.family === 4 || options.family === 'IPv4' ? 4 : 0;
        const addresses = all.filter((a) => family === 0 || a.family === family);
        if (addresses.length === 0) {
          const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
          return callback(err);
        }
        if (!opts.allowPrivate) {
          // Any private answer refuses the name: connecting to "the public one" would still let a
          // rebinding server choose which address the next connection gets.
          const bad = addresses.find((a) => isPrivateAddress(a.address));
          if (bad) return callback(new BlockedAddressError(hostname, bad.address));
        }
        if (options.all) return callback(null, addresses);
        return callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: unknown) => callback(err),
    );
  }) as unknown as LookupFunction;
  const agentOptions = { keepAlive: true, lookup, maxSockets: 64 };
  const agent = protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  return { agent, destroy: () => agent.destroy() };
}
