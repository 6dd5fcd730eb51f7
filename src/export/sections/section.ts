import type { Readable } from 'node:stream';
import type { Queryable } from '../../db/pool.ts';
import type { Requester } from '../../domain/operation.ts';
import type { UserRow } from '../../domain/user.ts';
import type { PackageSigner } from '../package-signature.ts';

/**
 * A section of the package: one unit that reads its rows inside the export's snapshot, streams
 * its files into the content store, and tells index.html and manifest.json about them. The export
 * runs the list in ./index.ts; adding a section is one file plus one line there.
 */
export interface Section {
  readonly name: string;
  /**
   * The tables whose rows about the subject this section exports. The completeness test checks
   * that every table holding a user reference is named by a section or explicitly excluded.
   */
  readonly tables: readonly string[];
  render(ctx: RenderContext): Promise<SectionResult>;
}

/** The operation as every section sees it. */
export interface SnapshotOperation {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly userPrincipalName: string;
  readonly requestedBy: Requester;
  readonly submittedAt: Date;
  /** The container (or SAS directory) URL without its query: no signature. */
  readonly storageContainer: string;
}

/** One file of the plan, in upload order. */
export interface PlanEntry {
  readonly path: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  /**
   * 'inline': a small rendered file, bytes in its plan row; 'rendered': a larger one, in the
   * content store; 'content': a drive file, uploaded as an attachment.
   */
  readonly source: 'inline' | 'rendered' | 'content';
}

/** A row of index.html's table of files. */
export interface SectionFile {
  readonly path: string;
  readonly title: string;
  /** Records in the file (null: not a list of records). */
  readonly records: number | null;
  readonly size: number;
}

/** The first rows of a section, shown in index.html with links to its full files. */
export interface SectionPreview {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly total: number;
  readonly links: readonly string[];
}

export interface SectionResult {
  readonly files: readonly SectionFile[];
  /** Record counts for manifest.json's totals (e.g. { signIns: 3 }). */
  readonly totals?: Readonly<Record<string, number>>;
  readonly preview?: SectionPreview;
  /** The drive's files: how many, their bytes, and the first ones by path (index.html links them). */
  readonly driveFiles?: { readonly count: number; readonly bytes: number; readonly first: readonly { path: string; size: number }[] };
}

/** A file for RenderContext.writeCopiedFiles: its pieces, read from the COPYs of `copyOut` (text format, as they stream). */
export interface CopiedFile {
  readonly path: string;
  readonly contentType: string;
  pieces(copyOut: (sql: string) => Readable): AsyncIterable<string>;
}

export interface RenderContext {
  /** The snapshot: a REPEATABLE READ transaction on one connection, shared by every section. */
  readonly q: Queryable;
  readonly operation: SnapshotOperation;
  readonly user: UserRow;
  /** The snapshot's instant as the package states it. */
  readonly now: Date;
  /**
   * The tenant's choice (its privacy statement's redactOtherActors, true by default): other
   * actors' details are left out of the records (redaction.ts). Read once in the snapshot.
   */
  readonly redactsOtherActors: boolean;
  /** Blob names are capped; a SAS directory prefix takes its share. */
  readonly maxPathLength: number;
  /** What the sections before this one reported (index.html and manifest.json read them). */
  readonly earlier: readonly SectionResult[];
  /**
   * Streams a file into the content store, hashed as written, pinned for this export, and
   * appends it to the plan. Texts are whole JSON records or CSV lines: secrets are scrubbed per
   * piece, so a piece must not split a value.
   */
  writeFile(path: string, contentType: string, pieces: AsyncIterable<string> | Iterable<string>): Promise<PlanEntry>;
  /**
   * Writes files as writeFile does, their pieces read from `COPY … TO STDOUT`s run in the
   * snapshot, and appends them to the plan in the order given. One after the other on the
   * snapshot's connection; or, `sideBySide`, at the same time, each file's COPYs on a connection
   * of its own to the same snapshot (PostgreSQL renders them on two cores). Opening that
   * connection costs milliseconds: side by side is for large sections.
   */
  writeCopiedFiles(files: readonly CopiedFile[], opts: { sideBySide: boolean }): Promise<PlanEntry[]>;
  /** Appends a drive file (already in the content store) to the plan. */
  addContent(entry: Omit<PlanEntry, 'source'>): Promise<void>;
  /** The plan so far, in upload order, read back in pages (manifest.json lists it). */
  planned(): AsyncIterable<PlanEntry>;
  /** Reads a file this render wrote back, as it streams (manifest.json, to sign it). */
  readBack(entry: PlanEntry): AsyncIterable<Buffer>;
  /** The package-signing key (manifest.json.jws). */
  readonly signer: PackageSigner;
  /** Files and bytes planned so far. */
  readonly plannedTotals: { readonly files: number; readonly bytes: number };
}
