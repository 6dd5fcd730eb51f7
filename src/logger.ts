import { pino, type DestinationStream, type Logger } from 'pino';
import { redactSasSignatures } from './domain/storage-location.ts';

// SAS signatures and bearer tokens are secrets: they are scrubbed from every line at the logger
// itself, whatever a call site passes in (a URL, an error message, a header object).
const SECRET_PATTERNS: [RegExp, string][] = [
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1REDACTED'],
  // A bare JWT (three base64url parts, header starting with {"): e.g. inside an error message.
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, 'REDACTED.JWT'],
  [/(AccountKey=)[^;"\s]+/gi, '$1REDACTED'],
  // An upload session's URL is its own credential (no Authorization header on chunk PUTs).
  [/(\/upload-sessions\/)[A-Za-z0-9_-]+/g, '$1REDACTED'],
  // So is a download URL (a drive item's, or a case's final report or attachment).
  [/(\/downloads\/(?:requests\/)?)[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, '$1REDACTED'],
];

// What every pattern above needs in a line (case-insensitive, so a superset): a line with none of
// these, most of them, is scanned once instead of once per pattern.
const MAY_HOLD_SECRET = /bearer|eyJ|accountkey=|\/upload-sessions\/|\/downloads\//i;

export function redactSecrets(text: string): string {
  let out = redactSasSignatures(text);
  if (!MAY_HOLD_SECRET.test(out)) return out;
  for (const [re, replacement] of SECRET_PATTERNS) out = out.replace(re, replacement);
  return out;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'dsr-export' },
      // Whole values censored where a call site names them; the line hook above scrubs the
      // signatures and tokens everywhere else. No wildcard path: '*.x' sends every key of every
      // line (the request id, req, res, responseTime) through the redactor, a clone and a
      // stringify each, on every request. Fastify serialises `req` without its headers.
      redact: { paths: ['headers.authorization', 'storageLocation'], censor: 'REDACTED' },
      hooks: { streamWrite: redactSecrets },
    },
    destination,
  );
}
