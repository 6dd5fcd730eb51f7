import net from 'node:net';
import { GraphError } from '../graph-error.ts';
import type { SasFacts } from './export-failure.ts';
import { bareHost, isPrivateAddress } from './private-address.ts';

export interface StorageRules {
  /** The cloud's blob host suffix, e.g. `.blob.core.windows.net`. */
  readonly blobSuffix: string;
  /** Origins accepted besides the suffix (Azurite: `http://127.0.0.1:10000`); path-style URLs. */
  readonly allowedOrigins: readonly string[];
  readonly minValiditySeconds: number;
}

/**
 * A storage location split by the one grammar of docs/architecture.md#storage-location-rules:
 * `/container[/dir]` on Azure's `<account>.blob…` hosts, `/account/container[/dir]` on
 * path-style endpoints (an allowed origin such as Azurite, or an IP or localhost host, where the
 * account cannot be in the host name).
 */
export interface StorageLocation {
  /** The SAS URL exactly as submitted. */
  readonly url: string;
  /** Identifies the container (or SAS directory) whatever SAS names it: origin + path, no query. */
  readonly container: string;
  /** Container URL with the SAS query, without a directory. */
  readonly containerUrl: string;
  /** "" for a container SAS; "dir/sub/" for a directory SAS (sr=d). */
  readonly prefix: string;
  readonly origin: string;
  /** Without IPv6 brackets, as DNS and `net.isIP` take it. */
  readonly hostname: string;
  readonly protocol: string;
  readonly pathStyle: boolean;
  readonly sas: SasFacts;
}

export const MAX_STORAGE_LOCATION_LENGTH = 2048;
// Azure rejects an `st` a little ahead of its clock; so do we, with the same tolerance for skew.
const START_SKEW_SECONDS = 300;
const STORAGE_ACCOUNT = /^[a-z0-9]{3,24}$/;
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/;

function refuse(message: string): GraphError {
  return GraphError.invalidStorageLocation(message);
}

/**
 * The storageLocation rules (docs/architecture.md#storage-location-rules), checked before the 202 without any network access.
 * Throws InvalidStorageLocation with a message naming the first rule that failed.
 */
export function checkStorageLocation(raw: unknown, rules: StorageRules, now: Date): StorageLocation {
  if (raw === undefined || raw === null || raw === '') {
    throw refuse('storageLocation is required: the SAS URL of an Azure Blob Storage container.');
  }
  if (typeof raw !== 'string') throw refuse('storageLocation must be a string: the SAS URL of a container.');
  if (raw.length > MAX_STORAGE_LOCATION_LENGTH) {
    throw refuse(`storageLocation is longer than ${MAX_STORAGE_LOCATION_LENGTH} characters.`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('storageLocation is not an absolute URL.');
  }
  if (url.username !== '' || url.password !== '') throw refuse('storageLocation must not contain user information (user:password@).');
  const allowedOrigin = rules.allowedOrigins.includes(url.origin);
  if (!allowedOrigin) {
    if (url.protocol !== 'https:') throw refuse(`storageLocation must use https (got ${url.protocol.replace(/:$/, '')}).`);
    const host = bareHost(url.hostname);
    if (net.isIP(host) !== 0) {
      throw refuse(
        isPrivateAddress(host)
          ? 'storageLocation points to a loopback, private, link-local or metadata address.'
          : `storageLocation must name a blob endpoint (*${rules.blobSuffix}), not an IP address.`,
      );
    }
    // Storage account names are 3-24 lowercase letters and digits: this also refuses IDN (xn--) hosts.
    if (!host.endsWith(rules.blobSuffix) || !STORAGE_ACCOUNT.test(host.slice(0, -rules.blobSuffix.length))) {
      throw refuse(`storageLocation host "${host}" is not an allowed endpoint: it must be <account>${rules.blobSuffix}.`);
    }
  }

  const location = splitLocation(raw, url, allowedOrigin);
  const containerName = location.containerName;
  if (!containerName) {
    throw refuse(`storageLocation must name a container: ${allowedOrigin ? '/<account>/<container>' : '/<container>'} followed by a SAS query.`);
  }
  if (!CONTAINER_NAME.test(containerName)) {
    throw refuse(`storageLocation container name "${containerName}" is not valid: 3-63 lowercase letters, digits and single hyphens.`);
  }
  const directory = location.value.prefix;

  const q = url.searchParams;
  if (!q.get('sig')) throw refuse('storageLocation is not a shared access signature URL: the sig parameter is missing.');
  const sr = q.get('sr');
  if (sr !== 'c' && sr !== 'd') {
    throw refuse(`storageLocation must be a container SAS (sr=c) or a directory SAS (sr=d); got ${sr ? `sr=${sr}` : 'no sr parameter'}.`);
  }
  if (sr === 'c' && directory !== '') throw refuse('storageLocation is a container SAS (sr=c) but names a path inside the container.');
  if (sr === 'd' && directory === '') throw refuse('storageLocation is a directory SAS (sr=d) but names no directory.');
  const sp = q.get('sp') ?? '';
  const missing = ['c', 'w'].filter((p) => !sp.includes(p));
  if (missing.length > 0) {
    throw refuse(
      `storageLocation SAS lacks the ${missing.map((p) => (p === 'c' ? 'create (c)' : 'write (w)')).join(' and ')} permission${missing.length > 1 ? 's' : ''} (sp=${sp || 'missing'}).`,
    );
  }
  const se = q.get('se');
  if (!se) throw refuse('storageLocation SAS has no expiry (se).');
  const expiry = Date.parse(se);
  if (Number.isNaN(expiry)) throw refuse(`storageLocation SAS expiry (se=${se}) is not a date.`);
  if (expiry <= now.getTime()) throw refuse('storageLocation SAS has expired.');
  if (expiry < now.getTime() + rules.minValiditySeconds * 1000) {
    throw refuse(`storageLocation SAS expires too soon: it must stay valid for at least ${Math.round(rules.minValiditySeconds / 60)} minutes.`);
  }
  const st = q.get('st');
  if (st) {
    const start = Date.parse(st);
    if (Number.isNaN(start)) throw refuse(`storageLocation SAS start (st=${st}) is not a date.`);
    if (start > now.getTime() + START_SKEW_SECONDS * 1000) throw refuse('storageLocation SAS is not valid yet: its start time (st) is in the future.');
  }
  return location.value;
}

/**
 * Splits a storage location that passed checkStorageLocation (the worker's copy from the
 * database, the verify command's argument). Throws InvalidStorageLocation on a URL it cannot split.
 */
export function parseStorageLocation(raw: string, allowedOrigins: readonly string[]): StorageLocation {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('storageLocation is not an absolute URL.');
  }
  const host = bareHost(url.hostname);
  const pathStyle = allowedOrigins.includes(url.origin) || net.isIP(host) !== 0 || host === 'localhost';
  return splitLocation(raw, url, pathStyle).value;
}

function splitLocation(raw: string, url: URL, pathStyle: boolean): { value: StorageLocation; containerName: string | undefined } {
  const rawSegments = url.pathname.split('/').filter(Boolean);
  const segments = rawSegments.map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw refuse(`storageLocation path segment "${s}" is not correctly percent-encoded.`);
    }
  });
  const containerIndex = pathStyle ? 1 : 0;
  const directory = segments.slice(containerIndex + 1);
  const se = url.searchParams.get('se');
  const expiry = se ? new Date(se) : undefined;
  return {
    containerName: segments[containerIndex],
    value: {
      url: raw,
      container: `${url.protocol}//${url.host.toLowerCase()}/${segments.join('/')}`,
      containerUrl: `${url.origin}/${rawSegments.slice(0, containerIndex + 1).join('/')}${url.search}`,
      prefix: directory.length > 0 ? `${directory.join('/')}/` : '',
      origin: url.origin,
      hostname: bareHost(url.hostname),
      protocol: url.protocol,
      pathStyle,
      sas: {
        permissions: url.searchParams.get('sp') ?? '',
        expiresAt: expiry && !Number.isNaN(expiry.getTime()) ? expiry : undefined,
      },
    },
  };
}

const PLAIN_SIG_PARAM = /([?&](?:amp;)?)(sig)=[^&#\s"'\\]*/gi;
const ESCAPED_NAME = /[?&][^&#=\s"'\\%]*%/;
const ANY_PARAM = /([?&](?:amp;)?)([^&#=\s"'\\]*)=[^&#\s"'\\]*/g;
const ENCODED_URL_SIG = /((?:%3F|%26)sig%3D)(?:(?!%26)[^&#"'\s\\])+/gi;

/**
 * Replaces the value of every `sig` parameter in `text`, a SAS URL or any line that contains one
 * (a log line, an error message): the signature is a bearer secret. A name counts as URLSearchParams
 * decodes it (`%73ig` is a sig too), after `?`, `&` or an HTML-escaped `&amp;`, and inside a
 * URL-encoded URL (`%26sig%3D…`). A value ends where a parameter does, or at a quote, a space or
 * a backslash, so that a URL inside JSON or a sentence keeps what surrounds it.
 */
export function redactSasSignatures(text: string): string {
  // Every pattern needs an '=' or a '%3D': most log lines have neither and go through untouched
  // (this runs on every line the service logs).
  if (!text.includes('=') && !/%3d/i.test(text)) return text;
  // `sig` spelled plainly, in any case: one scan, no callback (this runs on every operation the
  // API returns).
  const out = text.replace(PLAIN_SIG_PARAM, '$1$2=REDACTED');
  if (!out.includes('%')) return out;
  // A name spelled with escapes is decoded to be recognised; only a line that has one pays for that.
  const decoded = ESCAPED_NAME.test(out)
    ? out.replace(ANY_PARAM, (whole, sep: string, name: string) => (isSigName(name) ? `${sep}${name}=REDACTED` : whole))
    : out;
  return decoded.replace(ENCODED_URL_SIG, '$1REDACTED');
}

function isSigName(name: string): boolean {
  // Without a '%' there is nothing to decode ('+' decodes to a space, which "sig" has not).
  if (!name.includes('%')) return name.length === 3 && name.toLowerCase() === 'sig';
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase() === 'sig';
  } catch {
    return false; // a malformed escape cannot spell sig
  }
}
