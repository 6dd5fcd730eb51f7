import path from 'node:path';
import { GUID_PATTERN } from './domain/formats.ts';
import { DEFAULT_DUE_PERIODS, parseDuePeriods, type DuePeriod } from './cases/due-dates.ts';

/** The clouds of the storage-location rules (docs/architecture.md#storage-location-rules) and the blob host suffix each one allows. */
export const BLOB_SUFFIX_BY_CLOUD = {
  global: '.blob.core.windows.net',
  usgov: '.blob.core.usgovcloudapi.net',
  usgovdod: '.blob.core.usgovcloudapi.net',
  china: '.blob.core.chinacloudapi.cn',
} as const;
export type Cloud = keyof typeof BLOB_SUFFIX_BY_CLOUD;

export const LOCAL_ISSUER = 'urn:dsr-export:local-issuer';
export const LOCAL_AUDIENCE = 'api://dsr-export';
export const GLOBAL_ADMIN_ROLE = '62e90394-69f5-4237-9190-012177145e10';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Base of Location and @odata.context; undefined means "derived from where we listen". */
  readonly publicUrl: string | undefined;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly cloud: Cloud;
  /** Extra storage origins (scheme://host[:port]) accepted besides the cloud's blob suffix. */
  readonly storageAllow: readonly string[];
  readonly auth: {
    readonly localIssuer: boolean;
    readonly externalIssuer: string | undefined;
    readonly externalAudience: string | undefined;
    readonly externalJwksUri: string | undefined;
    /** Tenants whose external tokens are accepted; '*' for any. */
    readonly allowedTenants: readonly string[] | '*';
    readonly adminRoleIds: readonly string[];
  };
  readonly contentStore: string | undefined;
  readonly worker: {
    readonly concurrency: number;
    readonly maxAttempts: number;
    readonly leaseSeconds: number;
    readonly uploadConcurrency: number;
    /** `dsr-export worker` serves /healthz, /readyz and /metrics here (on DSR_HOST); undefined: it listens nowhere. */
    readonly port: number | undefined;
  };
  readonly sasMinValiditySeconds: number;
  readonly retryAfterSeconds: number;
  readonly notifications: {
    /** Extra notification origins (scheme://host[:port]) that may be http and private (local receivers). */
    readonly allowedOrigins: readonly string[];
    readonly maxExpirationSeconds: number;
    /** First retry delay of a failed delivery; each later one doubles it, up to an hour. */
    readonly retryBaseSeconds: number;
    /** A subscription whose deliveries keep failing this long is removed. */
    readonly retryWindowSeconds: number;
  };
  readonly quotas: {
    readonly exportsPerTenantPerDay: number;
    readonly exportsPerUserPerDay: number;
    /** Graph's 10,000 per hour: the dataPolicyOperations routes. */
    readonly requestsPerTenantPerHour: number;
    /** Drive routes (and upload-session fragments), counted apart from dataPolicyOperations. */
    readonly driveRequestsPerTenantPerHour: number;
    /** Directory, audit-log and the other Graph routes, counted apart too. */
    readonly directoryRequestsPerTenantPerHour: number;
    /** Live upload sessions one user may hold at once. */
    readonly uploadSessionsPerUser: number;
    /** Bytes the live upload sessions of one user may declare together (a single session included). */
    readonly uploadSessionBytesPerUser: number;
    /** Bytes of files a tenant may store, uploads in progress included; over it uploads answer 507. */
    readonly storageBytesPerTenant: number;
  };
  readonly bodyLimitBytes: number;
  readonly logLevel: string;
  /**
   * DSR_SECRET_KEY: base64 AES-256 keys, comma-separated, the first one seals (src/secrets).
   * Empty: the key file in the data folder. Never log it.
   */
  readonly secretKeys: readonly string[];
  /** Subject rights requests (src/cases). */
  readonly cases: {
    /** Connection string (with AccountKey) of the account that holds case packages; unset: cases cannot retrieve. */
    readonly storage: string | undefined;
    readonly duePeriods: ReadonlyMap<string, DuePeriod>;
    readonly purgeDays: number;
  };
  /** DSR_METRICS_TOKEN: bearer token for /metrics; unset, the API port does not serve /metrics. */
  readonly metricsToken: string | undefined;
  /** The console's sign-in through the external issuer (docs/console.md); undefined: links of the local issuer only. */
  readonly console:
    | {
        /** The issuer the console signs in with: DSR_AUTH_ISSUER, its `{tenantid}` replaced by DSR_CONSOLE_TENANT. */
        readonly issuer: string;
        /** DSR_CONSOLE_CLIENT_ID: the console's public client (SPA) registered at the issuer. */
        readonly clientId: string;
        /** DSR_CONSOLE_SCOPE: what it asks for; default `openid profile {DSR_AUTH_AUDIENCE}/.default` (Entra ID). */
        readonly scope: string;
      }
    | undefined;
}

/** Every variable the service reads, with its default; `.env.example` and the README mirror this list. */
export const ENV_VARIABLES = [
  'DSR_HOST',
  'DSR_PORT',
  'DSR_PUBLIC_URL',
  'DSR_DATA_DIR',
  'DSR_DATABASE_URL',
  'DSR_CLOUD',
  'DSR_STORAGE_ALLOW',
  'DSR_AUTH_ISSUER',
  'DSR_AUTH_AUDIENCE',
  'DSR_AUTH_JWKS_URI',
  'DSR_AUTH_ALLOWED_TENANTS',
  'DSR_AUTH_LOCAL_ISSUER',
  'DSR_ADMIN_ROLE_IDS',
  'DSR_CONTENT_STORE',
  'DSR_WORKER_CONCURRENCY',
  'DSR_MAX_ATTEMPTS',
  'DSR_LEASE_SECONDS',
  'DSR_UPLOAD_CONCURRENCY',
  'DSR_WORKER_PORT',
  'DSR_SAS_MIN_VALIDITY',
  'DSR_RETRY_AFTER',
  'DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY',
  'DSR_QUOTA_EXPORTS_PER_USER_PER_DAY',
  'DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR',
  'DSR_QUOTA_DRIVE_REQUESTS_PER_TENANT_PER_HOUR',
  'DSR_QUOTA_DIRECTORY_REQUESTS_PER_TENANT_PER_HOUR',
  'DSR_LOG_LEVEL',
  'DSR_SECRET_KEY',
  'DSR_CASES_STORAGE',
  'DSR_CASES_DUE_PERIODS',
  'DSR_CASES_PURGE_DAYS',
  'DSR_METRICS_TOKEN',
  'DSR_QUOTA_UPLOAD_SESSIONS_PER_USER',
  'DSR_QUOTA_UPLOAD_SESSION_BYTES_PER_USER',
  'DSR_QUOTA_STORAGE_BYTES_PER_TENANT',
  'DSR_NOTIFICATION_ALLOW',
  'DSR_SUBSCRIPTION_MAX_EXPIRATION',
  'DSR_NOTIFICATION_RETRY_BASE',
  'DSR_NOTIFICATION_RETRY_WINDOW',
  'DSR_CONSOLE_CLIENT_ID',
  'DSR_CONSOLE_SCOPE',
  'DSR_CONSOLE_TENANT',
] as const;

export class ConfigError extends Error {}

function integer(env: Record<string, string | undefined>, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

/** Parses "3600", "90s", "30m", "1h", "2d" into seconds. */
export function parseDuration(raw: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new ConfigError(`not a duration: "${raw}" (use e.g. 3600, 90s, 30m, 1h)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function normalizeOrigin(raw: string, variable = 'DSR_STORAGE_ALLOW'): string {
  try {
    return new URL(raw).origin;
  } catch {
    throw new ConfigError(`${variable}: not an origin: "${raw}"`);
  }
}

/**
 * DSR_AUTH_ALLOWED_TENANTS: tenant ids, or `*`. A multi-tenant issuer (`{tenantid}`) must say which
 * tenants it serves, even if that is `*`: otherwise every tenant of the identity provider could call.
 */
function parseAllowedTenants(raw: string | undefined, issuer: string | undefined): readonly string[] | '*' {
  const items = list(raw);
  if (items.length === 0) {
    if (issuer?.includes('{tenantid}')) {
      throw new ConfigError('DSR_AUTH_ALLOWED_TENANTS is required with {tenantid} in DSR_AUTH_ISSUER: the tenant ids to serve, comma-separated, or * for any');
    }
    return '*';
  }
  if (items.length === 1 && items[0] === '*') return '*';
  const bad = items.find((t) => !GUID_PATTERN.test(t));
  if (bad !== undefined) throw new ConfigError(`DSR_AUTH_ALLOWED_TENANTS: not a tenant id (GUID): "${bad}"`);
  return items.map((t) => t.toLowerCase());
}

/**
 * Reads the configuration once, from the environment and then from overrides (command-line
 * flags), into a frozen object. No other module reads process.env.
 */
export function loadConfig(env: Record<string, string | undefined>, overrides: Partial<Record<(typeof ENV_VARIABLES)[number], string>> = {}): Config {
  const e = { ...env, ...overrides };
  const cloud = (e.DSR_CLOUD || 'global') as Cloud;
  if (!(cloud in BLOB_SUFFIX_BY_CLOUD)) throw new ConfigError(`DSR_CLOUD must be one of ${Object.keys(BLOB_SUFFIX_BY_CLOUD).join(', ')}`);
  const externalIssuer = e.DSR_AUTH_ISSUER || undefined;
  const externalAudience = e.DSR_AUTH_AUDIENCE || undefined;
  if (externalIssuer && !externalAudience) throw new ConfigError('DSR_AUTH_AUDIENCE is required with DSR_AUTH_ISSUER');
  const adminRoleIds = list(e.DSR_ADMIN_ROLE_IDS);
  const allowedTenants = parseAllowedTenants(e.DSR_AUTH_ALLOWED_TENANTS, externalIssuer);
  // With an external issuer, the local one (whose key sits in the data folder) is off unless
  // explicitly kept: one more way to mint tokens is one more secret to protect.
  const localIssuerRaw = e.DSR_AUTH_LOCAL_ISSUER || (externalIssuer ? 'false' : 'true');
  if (localIssuerRaw !== 'true' && localIssuerRaw !== 'false') throw new ConfigError(`DSR_AUTH_LOCAL_ISSUER must be true or false, got "${localIssuerRaw}"`);
  const config: Config = {
    host: e.DSR_HOST || '127.0.0.1',
    port: integer(e, 'DSR_PORT', 8080),
    publicUrl: e.DSR_PUBLIC_URL ? e.DSR_PUBLIC_URL.replace(/\/+$/, '') : undefined,
    dataDir: path.resolve(e.DSR_DATA_DIR || './data'),
    databaseUrl: e.DSR_DATABASE_URL || undefined,
    cloud,
    storageAllow: list(e.DSR_STORAGE_ALLOW).map((o) => normalizeOrigin(o)),
    auth: {
      localIssuer: localIssuerRaw === 'true',
      externalIssuer,
      externalAudience,
      externalJwksUri: e.DSR_AUTH_JWKS_URI || undefined,
      allowedTenants,
      adminRoleIds: adminRoleIds.length > 0 ? adminRoleIds : [GLOBAL_ADMIN_ROLE],
    },
    contentStore: e.DSR_CONTENT_STORE || undefined,
    worker: {
      concurrency: integer(e, 'DSR_WORKER_CONCURRENCY', 2, 1),
      maxAttempts: integer(e, 'DSR_MAX_ATTEMPTS', 5, 1),
      leaseSeconds: integer(e, 'DSR_LEASE_SECONDS', 30, 3),
      uploadConcurrency: integer(e, 'DSR_UPLOAD_CONCURRENCY', 8, 1),
      port: e.DSR_WORKER_PORT ? integer(e, 'DSR_WORKER_PORT', 0) : undefined,
    },
    sasMinValiditySeconds: parseDuration(e.DSR_SAS_MIN_VALIDITY || '1h'),
    retryAfterSeconds: integer(e, 'DSR_RETRY_AFTER', 5, 1),
    notifications: {
      allowedOrigins: list(e.DSR_NOTIFICATION_ALLOW).map((o) => normalizeOrigin(o, 'DSR_NOTIFICATION_ALLOW')),
      maxExpirationSeconds: parseDuration(e.DSR_SUBSCRIPTION_MAX_EXPIRATION || '3d'),
      retryBaseSeconds: parseDuration(e.DSR_NOTIFICATION_RETRY_BASE || '10s'),
      retryWindowSeconds: parseDuration(e.DSR_NOTIFICATION_RETRY_WINDOW || '4h'),
    },
    quotas: {
      exportsPerTenantPerDay: integer(e, 'DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY', 1000, 1),
      exportsPerUserPerDay: integer(e, 'DSR_QUOTA_EXPORTS_PER_USER_PER_DAY', 100, 1),
      requestsPerTenantPerHour: integer(e, 'DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR', 10000, 1),
      driveRequestsPerTenantPerHour: integer(e, 'DSR_QUOTA_DRIVE_REQUESTS_PER_TENANT_PER_HOUR', 100000, 1),
      directoryRequestsPerTenantPerHour: integer(e, 'DSR_QUOTA_DIRECTORY_REQUESTS_PER_TENANT_PER_HOUR', 100000, 1),
      uploadSessionsPerUser: integer(e, 'DSR_QUOTA_UPLOAD_SESSIONS_PER_USER', 100, 1),
      // OneDrive's largest file (250 GiB) and its default storage of 1 TiB.
      uploadSessionBytesPerUser: integer(e, 'DSR_QUOTA_UPLOAD_SESSION_BYTES_PER_USER', 250 * 2 ** 30, 1),
      storageBytesPerTenant: integer(e, 'DSR_QUOTA_STORAGE_BYTES_PER_TENANT', 2 ** 40, 1),
    },
    bodyLimitBytes: 1024 * 1024,
    logLevel: e.DSR_LOG_LEVEL || 'info',
    secretKeys: list(e.DSR_SECRET_KEY),
    cases: {
      storage: e.DSR_CASES_STORAGE || undefined,
      duePeriods: duePeriods(e.DSR_CASES_DUE_PERIODS || DEFAULT_DUE_PERIODS),
      purgeDays: integer(e, 'DSR_CASES_PURGE_DAYS', 30, 1),
    },
    metricsToken: e.DSR_METRICS_TOKEN || undefined,
    console: consoleSignIn(e, externalIssuer, externalAudience, allowedTenants),
  };
  return deepFreeze(config);
}

/**
 * The console signs in with one issuer: a multi-tenant one (`{tenantid}`) needs the tenant whose
 * users use this console (DSR_CONSOLE_TENANT), one the service accepts.
 */
function consoleSignIn(
  e: Record<string, string | undefined>,
  issuer: string | undefined,
  audience: string | undefined,
  allowedTenants: readonly string[] | '*',
): Config['console'] {
  const clientId = e.DSR_CONSOLE_CLIENT_ID || undefined;
  if (!clientId) {
    if (e.DSR_CONSOLE_SCOPE || e.DSR_CONSOLE_TENANT) throw new ConfigError('DSR_CONSOLE_SCOPE and DSR_CONSOLE_TENANT need DSR_CONSOLE_CLIENT_ID');
    return undefined;
  }
  if (!issuer || !audience) throw new ConfigError('DSR_CONSOLE_CLIENT_ID needs DSR_AUTH_ISSUER (the console signs in with the external issuer)');
  let consoleIssuer = issuer;
  if (issuer.includes('{tenantid}')) {
    const tenant = (e.DSR_CONSOLE_TENANT ?? '').toLowerCase();
    if (!GUID_PATTERN.test(tenant))
      throw new ConfigError('DSR_CONSOLE_TENANT (a tenant id) is required with {tenantid} in DSR_AUTH_ISSUER: the tenant whose users sign in to the console');
    if (allowedTenants !== '*' && !allowedTenants.includes(tenant)) throw new ConfigError('DSR_CONSOLE_TENANT must be one of DSR_AUTH_ALLOWED_TENANTS');
    consoleIssuer = issuer.replace('{tenantid}', tenant);
  } else if (e.DSR_CONSOLE_TENANT) {
    throw new ConfigError('DSR_CONSOLE_TENANT is only for an issuer with {tenantid}');
  }
  return { issuer: consoleIssuer, clientId, scope: e.DSR_CONSOLE_SCOPE || `openid profile ${audience.replace(/\/+$/, '')}/.default` };
}

function duePeriods(raw: string): ReadonlyMap<string, DuePeriod> {
  try {
    return parseDuePeriods(raw);
  } catch (err) {
    throw new ConfigError(`DSR_CASES_DUE_PERIODS: ${(err as Error).message}`);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
