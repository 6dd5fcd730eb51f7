import type { FastifyBaseLogger } from 'fastify';
import type { LocalIssuer } from '../auth/local-issuer.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import type { ContentStore } from '../content/content-store.ts';
import type { Db } from '../db/pool.ts';
import type { Metrics } from '../metrics.ts';

/** Everything the HTTP app needs, built by the entry point (or a test) and passed in. */
export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  /** File bodies of drive items, by SHA-256. */
  readonly contentStore: ContentStore;
  readonly verifier: TokenVerifier;
  readonly localIssuer: LocalIssuer | undefined;
  readonly logger: FastifyBaseLogger | undefined;
  readonly clock: () => Date;
  /** Base of absolute URLs (Location, @odata.context), without the version segment. */
  readonly publicUrl: () => string;
  /** True once shutdown has begun: /readyz answers 503 so load balancers stop sending work. */
  readonly draining: () => boolean;
  /** Shared with the worker of the same process; one of its own when absent. */
  readonly metrics?: Metrics | undefined;
}

/** `{publicUrl}/{version}`: the base of every absolute URL a Graph response carries. */
export function graphBase(deps: AppDeps, version: string): string {
  return `${deps.publicUrl()}/${version}`;
}
