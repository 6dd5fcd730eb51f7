import { ContainerClient } from '@azure/storage-blob';
import type { JSONWebKeySet } from 'jose';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PACKAGE_PATHS } from '../domain/package-plan.ts';
import { parseStorageLocation } from '../domain/storage-location.ts';
import { MANIFEST_SIGNATURE_PATH, verifyManifestSignature } from './package-signature.ts';
import { ManifestFormatError, readManifest } from './manifest-reader.ts';

export interface PackageDifference {
  readonly path: string;
  readonly kind: 'manifestMissing' | 'manifestInvalid' | 'signatureMissing' | 'signatureInvalid' | 'missing' | 'extra' | 'size' | 'sha256';
  readonly expected?: string | number;
  readonly actual?: string | number;
}

export interface VerifyProgress {
  readonly filesChecked: number;
  readonly filesTotal: number;
  readonly bytesChecked: number;
  readonly bytesTotal: number;
  readonly path: string;
}

export interface VerifyOptions {
  /**
   * The service's keys (its JWKS, or a key file): manifest.json.jws must then be a valid signature
   * of manifest.json by one of them. Without keys the signature is not checked, only the files
   * against the manifest, which proves integrity but not origin.
   */
  readonly keys?: JSONWebKeySet | undefined;
  /** The kid of the key that signed the manifest, once the signature checked out. */
  readonly onSigned?: ((kid: string) => void) | undefined;
}

/**
 * `dsr-export verify <sas-url>`: re-reads every file of a package and checks it against
 * manifest.json — every listed file present with the same size and SHA-256, and no file the
 * manifest does not list — and, given keys, the manifest's signature. Needs read (r) and list
 * (l) on the SAS. Returns the differences; an empty list means the package is intact. Bodies and
 * manifest.json are streamed, never buffered (readManifest).
 */
export async function verifyPackage(sasUrl: string, onProgress?: (p: VerifyProgress) => void, opts: VerifyOptions = {}): Promise<PackageDifference[]> {
  const location = parseStorageLocation(sasUrl, []);
  const container = new ContainerClient(location.containerUrl);
  const blobPath = (name: string) => name.slice(location.prefix.length);

  const manifestBlob = container.getBlockBlobClient(location.prefix + PACKAGE_PATHS.manifest);
  const differences: PackageDifference[] = [];
  // The signature is checked first, on its own read of the manifest (neither pass holds it whole),
  // so that a manifest rewritten in another layout is still named as unsigned, not only as invalid.
  const checkSigned = async () => {
    if (!opts.keys) return;
    const bytes = (await manifestBlob.download()).readableStreamBody as AsyncIterable<Buffer>;
    const signature = await checkSignature(container, location.prefix, bytes, opts.keys);
    if (typeof signature === 'string') opts.onSigned?.(signature);
    else differences.push(signature);
  };
  let manifest: Awaited<ReturnType<typeof readManifest>>;
  try {
    manifest = await readManifest((await manifestBlob.download()).readableStreamBody as Readable);
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404) return [{ path: PACKAGE_PATHS.manifest, kind: 'manifestMissing' }];
    if (status !== undefined) throw err;
    await checkSigned();
    return [{ path: PACKAGE_PATHS.manifest, kind: 'manifestInvalid', actual: String((err as Error).message) }, ...differences];
  }
  await checkSigned();

  // Every blob's size; what is left once the manifest's files are checked is not in the package.
  const present = new Map<string, number>();
  for await (const blob of container.listBlobsFlat(location.prefix ? { prefix: location.prefix } : {})) {
    present.set(blobPath(blob.name), blob.properties.contentLength ?? 0);
  }
  present.delete(PACKAGE_PATHS.manifest);
  present.delete(MANIFEST_SIGNATURE_PATH);

  // The worker's manifest counts its files and bytes in its totals.
  const filesTotal = manifest.head.totals?.files ?? 0;
  const bytesTotal = manifest.head.totals?.bytes ?? 0;
  let filesChecked = 0;
  let bytesChecked = 0;
  try {
    for await (const file of manifest.entries) {
      const size = present.get(file.path);
      present.delete(file.path);
      if (size === undefined) {
        differences.push({ path: file.path, kind: 'missing' });
      } else if (size !== file.size) {
        differences.push({ path: file.path, kind: 'size', expected: file.size, actual: size });
      } else {
        const response = await container.getBlockBlobClient(location.prefix + file.path).download();
        const hash = createHash('sha256');
        for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) {
          hash.update(chunk);
          bytesChecked += chunk.length;
        }
        const sha256 = hash.digest('hex');
        if (sha256 !== file.sha256) differences.push({ path: file.path, kind: 'sha256', expected: file.sha256, actual: sha256 });
      }
      filesChecked++;
      onProgress?.({ filesChecked, filesTotal, bytesChecked, bytesTotal, path: file.path });
    }
  } catch (err) {
    if (!(err instanceof ManifestFormatError)) throw err;
    return [{ path: PACKAGE_PATHS.manifest, kind: 'manifestInvalid', actual: err.message }, ...differences.filter((d) => d.path === MANIFEST_SIGNATURE_PATH)];
  }
  for (const path of [...present.keys()].sort()) differences.push({ path, kind: 'extra', actual: present.get(path)! });
  return differences;
}

/** The signing key's kid, or the difference that makes the signature fail. */
async function checkSignature(
  container: ContainerClient,
  prefix: string,
  manifest: AsyncIterable<Buffer>,
  keys: JSONWebKeySet,
): Promise<string | PackageDifference> {
  let jws: string;
  try {
    // A compact JWS is a few hundred bytes; anything far larger is not one and is not read whole.
    const blob = container.getBlockBlobClient(prefix + MANIFEST_SIGNATURE_PATH);
    const response = await blob.download(0, 64 * 1024);
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) chunks.push(chunk);
    jws = Buffer.concat(chunks).toString('ascii');
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return { path: MANIFEST_SIGNATURE_PATH, kind: 'signatureMissing' };
    throw err;
  }
  const check = await verifyManifestSignature(manifest, jws, keys);
  return check.valid ? check.kid : { path: MANIFEST_SIGNATURE_PATH, kind: 'signatureInvalid', actual: check.reason };
}
