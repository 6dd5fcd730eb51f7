import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { PackageManifest } from './render-package.ts';

export type ManifestHead = Omit<PackageManifest, 'files'>;
export type ManifestEntry = PackageManifest['files'][number];

/** manifest.json is not in the layout dsr-export writes, or not valid JSON. */
export class ManifestFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestFormatError';
  }
}

const FILES_OPEN = /^\s*"files":\s*\[\s*(\]\s*)?$/;

function entryOf(line: string, lineNumber: number): ManifestEntry {
  let e: unknown;
  try {
    e = JSON.parse(line.replace(/,\s*$/, ''));
  } catch {
    throw new ManifestFormatError(`line ${lineNumber} is not one file's entry`);
  }
  const f = e as Partial<ManifestEntry> | null;
  if (!f || typeof f.path !== 'string' || typeof f.size !== 'number' || typeof f.sha256 !== 'string') {
    throw new ManifestFormatError(`line ${lineNumber} lacks a path, size or sha256`);
  }
  return { path: f.path, size: f.size, sha256: f.sha256, contentType: String(f.contentType ?? '') };
}

/**
 * Reads manifest.json as it streams, in the layout the worker writes it (the fields before
 * "files", then one entry per line): its head first, then the entries one by one, so that a
 * package of a million files is checked without the list in memory. Anything else is a
 * ManifestFormatError.
 */
export async function readManifest(body: Readable): Promise<{ head: ManifestHead; entries: AsyncGenerator<ManifestEntry> }> {
  const lines = createInterface({ input: body, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const headLines: string[] = [];
  let n = 0;
  let emptyList = false;
  for (;;) {
    const next = await lines.next();
    if (next.done) throw new ManifestFormatError('no "files" list');
    n++;
    const m = FILES_OPEN.exec(next.value);
    if (m) {
      emptyList = m[1] !== undefined;
      break;
    }
    headLines.push(next.value);
    if (headLines.length > 1000) throw new ManifestFormatError('no "files" list after the first 1,000 lines');
  }
  let head: ManifestHead;
  try {
    head = JSON.parse(`${headLines.join('\n')} "files": []\n}`) as ManifestHead;
  } catch {
    throw new ManifestFormatError('the fields before "files" are not JSON');
  }
  async function* entries(): AsyncGenerator<ManifestEntry> {
    let closed = emptyList;
    for (;;) {
      const next = await lines.next();
      if (next.done) break;
      n++;
      const line = next.value.trim();
      if (closed) {
        if (line !== '}' && line !== '') throw new ManifestFormatError(`line ${n}: nothing may follow the "files" list but the closing brace`);
        continue;
      }
      if (line === ']') {
        closed = true;
        continue;
      }
      yield entryOf(line, n);
    }
    if (!closed) throw new ManifestFormatError('the "files" list does not end');
  }
  return { head, entries: entries() };
}
