import { ContainerClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { PACKAGE_PATHS } from '../domain/package-plan.ts';
import { isPathStyle, parseStorageLocation } from './package-target.ts';
import type { PackageManifest } from './render-package.ts';

export interface PackageDifference {
  readonly path: string;
  readonly kind: 'manifestMissing' | 'manifestInvalid' | 'missing' | 'extra' | 'size' | 'sha256';
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

/**
 * `dsr-export verify <sas-url>` (DESIGN.md §6): re-reads every file of a package and checks it
 * against manifest.json — every listed file present with the same size and SHA-256, and no file
 * the manifest does not list. Needs read (r) and list (l) on the SAS. Returns the differences;
 * an empty list means the package is intact. Bodies are streamed and hashed, never buffered.
 */
export async function verifyPackage(sasUrl: string, onProgress?: (p: VerifyProgress) => void): Promise<PackageDifference[]> {
  const location = parseStorageLocation(sasUrl, isPathStyle(sasUrl, []));
  const container = new ContainerClient(location.containerUrl);
  const blobPath = (name: string) => name.slice(location.prefix.length);

  let manifest: PackageManifest;
  try {
    const text = (await container.getBlockBlobClient(location.prefix + PACKAGE_PATHS.manifest).downloadToBuffer()).toString('utf8');
    manifest = JSON.parse(text) as PackageManifest;
    if (!Array.isArray(manifest.files)) throw new Error('no files list');
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404) return [{ path: PACKAGE_PATHS.manifest, kind: 'manifestMissing' }];
    if (status !== undefined) throw err;
    return [{ path: PACKAGE_PATHS.manifest, kind: 'manifestInvalid', actual: String((err as Error).message) }];
  }

  const present = new Map<string, number>();
  for await (const blob of container.listBlobsFlat(location.prefix ? { prefix: location.prefix } : {})) {
    present.set(blobPath(blob.name), blob.properties.contentLength ?? 0);
  }

  const differences: PackageDifference[] = [];
  const listed = new Set(manifest.files.map((f) => f.path));
  const filesTotal = manifest.files.length;
  const bytesTotal = manifest.files.reduce((a, f) => a + f.size, 0);
  let filesChecked = 0;
  let bytesChecked = 0;
  for (const file of manifest.files) {
    const size = present.get(file.path);
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
  for (const path of [...present.keys()].sort()) {
    if (path !== PACKAGE_PATHS.manifest && !listed.has(path)) differences.push({ path, kind: 'extra', actual: present.get(path)! });
  }
  return differences;
}
