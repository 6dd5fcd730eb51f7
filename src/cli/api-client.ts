import { CliError } from './fail.ts';

export interface GraphErrorBody {
  error?: { code?: string; message?: string };
}

const HINTS: Record<string, string> = {
  InvalidAuthenticationToken: 'Mint a fresh token with `dsr-export token` (or get one from your issuer) and pass it with --token.',
  Authorization_RequestDenied:
    'The token lacks a permission: exports need User.Export.All (and User.Read.All to read status); delegated callers must be administrators.',
  InvalidStorageLocation: 'Pass the SAS URL of an empty container with create and write permissions, valid for at least an hour.',
  StorageLocationAlreadyUsed: 'Every export needs its own empty container.',
  Request_ResourceNotFound: 'Check the user (object id or userPrincipalName) or operation id, and that the token is of the right tenant.',
  TooManyRequests: 'The tenant or user reached a quota; try again later.',
};

/** Minimal Graph HTTP client for the CLI: one clear CliError for every way a call can fail. */
export class ApiClient {
  constructor(
    readonly server: string,
    private readonly token: string,
  ) {}

  async request(method: string, pathOrUrl: string, body?: unknown): Promise<Response> {
    const url = /^https?:/.test(pathOrUrl) ? pathOrUrl : `${this.server.replace(/\/+$/, '')}${pathOrUrl}`;
    try {
      return await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      // undici hides the reason in `cause`: a code (ECONNREFUSED, ENOTFOUND) or a message
      // ("bad port" for ports fetch refuses, such as 1).
      const inner = (err as { cause?: { code?: string; message?: string } }).cause;
      const cause = inner?.code ?? inner?.message ?? (err as Error).message;
      throw new CliError(`cannot reach the server at ${this.server} (${cause})`, 'Start it with `dsr-export serve`, or pass --server <url>.');
    }
  }

  /** Throws a one-line CliError for a non-2xx response. */
  static async fail(res: Response, what: string): Promise<never> {
    const body = (await res.json().catch(() => ({}))) as GraphErrorBody;
    const code = body.error?.code ?? `HTTP ${res.status}`;
    throw new CliError(`${what} failed: ${code}: ${body.error?.message ?? res.statusText}`, HINTS[body.error?.code ?? '']);
  }
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date), else the fallback. */
export function retryAfterSeconds(res: Response, fallback: number): number {
  const raw = res.headers.get('retry-after');
  if (!raw) return fallback;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= 0) return n;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? fallback : Math.max(0, (at - Date.now()) / 1000);
}
