import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import yazl from 'yazl';
import type { Queryable } from '../db/pool.ts';
import { PACKAGE_PATHS } from '../domain/package-plan.ts';
import { graphDateTime } from '../domain/formats.ts';
import type { CaseStorage } from './case-storage.ts';
import { exclusionReason, isPackageManifest, packageFiles } from './package-files.ts';
import type { RequestRow } from './subject-rights-request.ts';

// Text the package renders compresses well; drive files are mostly compressed already.
const COMPRESSIBLE = /\.(json|csv|html|txt)$/i;

/** A package file whose bytes differ from what the export recorded: the attachment stops. */
export class PackageIntegrityError extends Error {}

/** Passes bytes through and fails at the end when they do not hash to the recorded SHA-256. */
function verifying(path: string, sha256: string): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const actual = hash.digest('hex');
      cb(actual === sha256 ? null : new PackageIntegrityError(`package file ${path} does not match its recorded SHA-256`));
    },
  });
}

/**
 * manifest.json of the attachment, streamed: the files it holds (path, size, SHA-256), then what
 * was left out and why. Two passes over the package's files, a page at a time.
 */
async function* attachmentManifest(q: Queryable, row: RequestRow, now: Date): AsyncGenerator<string> {
  yield `{\n  "subjectRightsRequestId": ${JSON.stringify(row.id)},\n  "displayName": ${JSON.stringify(row.display_name)},\n`;
  yield `  "generatedDateTime": ${JSON.stringify(graphDateTime(now))},\n  "files": [`;
  let first = true;
  for await (const f of packageFiles(q, row)) {
    if (exclusionReason(f) !== null) continue;
    yield `${first ? '' : ','}\n    ${JSON.stringify({ path: f.path, size: f.size, sha256: f.sha256 })}`;
    first = false;
  }
  yield '\n  ],\n  "excluded": [';
  first = true;
  for await (const f of packageFiles(q, row)) {
    const reason = exclusionReason(f);
    if (reason === null || isPackageManifest(f.path)) continue;
    yield `${first ? '' : ','}\n    ${JSON.stringify({ path: f.path, size: f.size, reason, excludedDateTime: graphDateTime(f.excluded_at) })}`;
    first = false;
  }
  yield '\n  ]\n}\n';
}

/**
 * The final attachment: a zip of the package minus the excluded files, with its own
 * manifest.json first. Streamed end to end: entries are added as the file list is paged, each
 * file is downloaded only when the zip reaches it, and nothing is buffered whole. yazl writes
 * ZIP64 records for any entry or archive past the 4 GiB / 65,535-entry limits.
 */
export function finalAttachment(q: Queryable, storage: CaseStorage, row: RequestRow, now: Date, signal: AbortSignal): Readable {
  const zip = new yazl.ZipFile();
  const output = zip.outputStream as Readable;
  const fail = (err: unknown) => output.destroy(err instanceof Error ? err : new Error(String(err)));
  zip.on('error', fail);
  // yazl listens to no entry stream's errors: every stream handed to it reports its own to fail().
  zip.addReadStreamLazy(PACKAGE_PATHS.manifest, { mtime: now, compress: true }, (cb) => {
    const manifest = Readable.from(attachmentManifest(q, row, now));
    manifest.on('error', fail);
    cb(null, manifest);
  });
  const container = row.storage_container!;
  void (async () => {
    for await (const f of packageFiles(q, row)) {
      if (output.destroyed) return;
      if (exclusionReason(f) !== null) continue;
      zip.addReadStreamLazy(f.path, { mtime: now, size: f.size, compress: COMPRESSIBLE.test(f.path) }, (cb) => {
        storage.read(container, f.path, signal).then(
          (body) => {
            const checked = verifying(f.path, f.sha256);
            checked.on('error', fail);
            body.on('error', (err) => checked.destroy(err));
            cb(null, body.pipe(checked));
          },
          (err: unknown) => cb(err instanceof Error ? err : new Error(String(err)), undefined as never),
        );
      });
    }
    zip.end();
  })().catch(fail);
  return output;
}
