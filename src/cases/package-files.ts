import type { Queryable } from '../db/pool.ts';
import { listPackageFiles, type PackageFileRow } from '../db/queries/subject-rights-requests.ts';
import { PACKAGE_PATHS } from '../domain/package-plan.ts';
import { graphDateTime } from '../domain/formats.ts';
import type { RequestRow } from './subject-rights-request.ts';

const PAGE = 500;

/** The package's own manifest.json describes every file; the attachment carries its own instead. */
export const REPLACED_MANIFEST_REASON = "Replaced by the final attachment's manifest.json, which lists what was excluded and why.";

/** The package's top-level folder a file sits in (its section); files at the root are in "package". */
export function sectionOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? 'package' : path.slice(0, slash);
}

export function isPackageManifest(path: string): boolean {
  return path === PACKAGE_PATHS.manifest;
}

/** Why a file is not in the attachment, or null when it is. */
export function exclusionReason(f: Pick<PackageFileRow, 'path' | 'reason'>): string | null {
  return isPackageManifest(f.path) ? REPLACED_MANIFEST_REASON : f.reason;
}

/** Every file of the case's package, in package order, a page at a time (memory stays flat). */
export async function* packageFiles(q: Queryable, row: Pick<RequestRow, 'tenant_id' | 'id' | 'operation_id'>): AsyncGenerator<PackageFileRow> {
  if (!row.operation_id) return;
  let afterSeq = -1;
  for (;;) {
    const page = await listPackageFiles(q, row.tenant_id, row.id, row.operation_id, { afterSeq, limit: PAGE });
    yield* page;
    if (page.length < PAGE) return;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/** The package file as the review extension shows it. */
export function toGraphPackageFile(f: PackageFileRow): Record<string, unknown> {
  const reason = exclusionReason(f);
  return {
    id: String(f.seq),
    path: f.path,
    section: sectionOf(f.path),
    size: f.size,
    sha256: f.sha256,
    excluded: reason !== null,
    exclusionReason: reason,
    excludedBy: f.excluded_by,
    excludedDateTime: graphDateTime(f.excluded_at),
  };
}
