import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import { createPrivateKey, createSign, createVerify, KeyObject, randomUUID, type Sign, type Verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readOrCreateKeyFile } from '../runtime/key-file.ts';
import type { Queryable } from '../db/pool.ts';
import { insertPackageSigningKey } from '../db/queries/package-signing-keys.ts';
import { PACKAGE_PATHS } from '../domain/package-plan.ts';

// The package's manifest.json is signed with a detached JWS (RFC 7515, appendix F): the compact
// form with its payload left out, stored beside the manifest. Whoever holds the container SAS can
// rewrite a file and recompute the manifest, but cannot produce this signature; `dsr-export verify`
// checks it against the service's JWKS. The manifest grows with the number of files, so both
// sides stream it: the JWS signing input (header, ".", the payload's base64url) is fed to the
// hash piece by piece, and the ES256 signature comes out in JOSE's r||s form (ieee-p1363).

export const MANIFEST_SIGNATURE_PATH = `${PACKAGE_PATHS.manifest}.jws`;
/** RFC 7515 §9.2.1: the media type of a JWS in compact serialization. */
export const MANIFEST_SIGNATURE_CONTENT_TYPE = 'application/jose';
// The signed `typ` keeps the two keys of the JWKS apart: a local-issuer token (typ JWT) never
// passes as a manifest signature, and a manifest signature is no token.
export const MANIFEST_SIGNATURE_TYPE = 'dsr-export-manifest+jws';
const ALG = 'ES256';

export interface PackageSigner {
  readonly kid: string;
  /** The public half, published in /.well-known/jwks.json. */
  readonly publicJwk: JWK;
  /** A detached compact JWS of exactly these bytes (`header..signature`), read as they come. */
  sign(manifest: Uint8Array | AsyncIterable<Uint8Array>): Promise<string>;
}

/**
 * The package-signing key of this data folder (`keys/package-signing.json`), created on first use.
 * A key of its own, not the local issuer's: it exists even when the local issuer is switched off,
 * and it can be rotated without invalidating tokens.
 */
export async function loadPackageSigner(dataDir: string): Promise<PackageSigner> {
  const privateJwk = JSON.parse(
    await readOrCreateKeyFile(path.join(dataDir, 'keys', 'package-signing.json'), async () => {
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      return JSON.stringify({ ...(await exportJWK(privateKey)), kid: `package-signing-${randomUUID()}`, alg: ALG, use: 'sig' });
    }),
  ) as JWK;
  const kid = privateJwk.kid!;
  const key = createPrivateKey({ key: privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  const header = Buffer.from(JSON.stringify({ alg: ALG, kid, typ: MANIFEST_SIGNATURE_TYPE })).toString('base64url');
  return {
    kid,
    publicJwk: publicHalf(privateJwk),
    sign: async (manifest) => {
      const signer = await hashSigningInput(createSign('SHA256'), header, manifest);
      return `${header}..${signer.sign({ key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    },
  };
}

/** Feeds `header.base64url(payload)` to a signer or verifier, the payload encoded as it streams. */
async function hashSigningInput<T extends Sign | Verify>(hash: T, header: string, payload: Uint8Array | AsyncIterable<Uint8Array>): Promise<T> {
  hash.update(`${header}.`);
  // base64url turns 3 bytes into 4 characters: a piece's last 0–2 bytes wait for the next one.
  let carry = Buffer.alloc(0);
  for await (const piece of payload instanceof Uint8Array ? [payload] : payload) {
    const bytes = carry.length > 0 ? Buffer.concat([carry, piece]) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    const whole = bytes.length - (bytes.length % 3);
    hash.update(bytes.subarray(0, whole).toString('base64url'));
    carry = Buffer.from(bytes.subarray(whole));
  }
  hash.update(carry.toString('base64url'));
  return hash;
}

/**
 * The data folder's signer, its public half registered in the database first, so the JWKS of
 * every API process of the deployment already serves it when the first package it signs appears.
 */
export async function registeredPackageSigner(db: Queryable, dataDir: string): Promise<PackageSigner> {
  const signer = await loadPackageSigner(dataDir);
  await insertPackageSigningKey(db, signer.kid, signer.publicJwk);
  return signer;
}

function publicHalf(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e, kid, alg } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid, alg, use: 'sig' }).filter(([, v]) => v !== undefined));
}

export type SignatureCheck = { readonly valid: true; readonly kid: string } | { readonly valid: false; readonly reason: string };

/**
 * Checks a detached manifest signature against a key set, reading the manifest as it streams;
 * never throws for a bad signature.
 */
export async function verifyManifestSignature(manifest: Uint8Array | AsyncIterable<Uint8Array>, jws: string, keys: JSONWebKeySet): Promise<SignatureCheck> {
  const parts = jws.trim().split('.');
  if (parts.length !== 3 || parts[1] !== '') return { valid: false, reason: 'not a detached compact JWS' };
  const [header, , signature] = parts as [string, string, string];
  try {
    const protectedHeader = decodeProtectedHeader(jws);
    if (protectedHeader.alg !== ALG) return { valid: false, reason: `alg is ${String(protectedHeader.alg)}, not ${ALG}` };
    if (protectedHeader.typ !== MANIFEST_SIGNATURE_TYPE)
      return { valid: false, reason: `typ is ${String(protectedHeader.typ)}, not ${MANIFEST_SIGNATURE_TYPE}` };
    // jose picks the key (kid, kty, alg, use) as it would for a whole JWS.
    const key = KeyObject.from(await createLocalJWKSet(keys)(protectedHeader, { payload: '', signature }));
    const verifier = await hashSigningInput(createVerify('SHA256'), header, manifest);
    if (!verifier.verify({ key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))) {
      return { valid: false, reason: 'the signature does not match manifest.json' };
    }
    return { valid: true, kid: protectedHeader.kid ?? '' };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWKS_NO_MATCHING_KEY') return { valid: false, reason: 'signed with a key that is not in the key set' };
    return { valid: false, reason: (err as Error).message };
  }
}

/** A key set from a JWKS document or a single JWK (private members dropped). */
export function toKeySet(document: unknown): JSONWebKeySet {
  const doc = document as { keys?: unknown; kty?: unknown };
  const keys = Array.isArray(doc?.keys) ? (doc.keys as JWK[]) : typeof doc?.kty === 'string' ? [doc as JWK] : undefined;
  if (!keys) throw new Error('neither a JWKS ({"keys": […]}) nor a JWK');
  return { keys: keys.map(publicHalf) };
}

/** The service's published keys: GET {server}/.well-known/jwks.json. */
export async function fetchServiceKeys(server: string, signal?: AbortSignal): Promise<JSONWebKeySet> {
  const url = new URL('/.well-known/jwks.json', server);
  const response = await fetch(url, { signal: signal ?? AbortSignal.timeout(15_000), redirect: 'error' });
  if (!response.ok) throw new Error(`${url.origin}/.well-known/jwks.json answered ${response.status}`);
  return toKeySet(await response.json());
}

/** A key set from a file holding a JWKS or a JWK. */
export async function readKeyFile(file: string): Promise<JSONWebKeySet> {
  return toKeySet(JSON.parse(await readFile(file, 'utf8')));
}
