import type { Readable } from 'node:stream';

/** What `put` learned while streaming a body in. */
export interface StoredContent {
  /** Lowercase hex SHA-256 of the bytes: the content's key. */
  readonly sha256: string;
  readonly size: number;
  /** OneDrive's quickXorHash (base64), computed in the same pass. */
  readonly quickXorHash: string;
}

/**
 * Immutable, content-addressed file bodies (docs/architecture.md#processes). Two implementations: a local folder
 * (default) and an Azure Blob container. Callers never see where bytes live, only their hash.
 */
export interface ContentStore {
  /** Streams a body in, hashing as it goes; memory stays flat whatever the size. */
  put(body: Readable, opts?: { maxBytes?: number }): Promise<StoredContent>;
  /** Streams a body out; `end` is inclusive, as in HTTP ranges. Throws ContentNotFoundError. */
  get(sha256: string, range?: { start: number; end: number }): Promise<Readable>;
  /**
   * Optional: reads a body straight into the caller's buffers (the export worker's block buffers),
   * without a stream per body. Saves the stream, async iterator and 64 KiB chunk allocations that
   * cost ~13 % of the worker's CPU on 2,000 small files and ~13 % GC on 1 GiB (docs/benchmarks.md).
   * Throws ContentNotFoundError. Stores without it are read through `get`. `size`, the body's
   * planned size, lets a store read a small body in a cheaper way.
   */
  open?(sha256: string, opts?: { size?: number }): Promise<ContentReader>;
  has(sha256: string): Promise<boolean>;
  delete(sha256: string): Promise<void>;
  /**
   * Removes bodies a crash left half-written (tmp/), not written to since `olderThan`; returns
   * how many. A put in progress writes its temporary file all along, so it is never that old.
   */
  sweepTemporary(olderThan: Date): Promise<number>;
  /**
   * Every stored body, streamed (never collected into one list), with when it was last written:
   * for the collector's pass over content that a crash left without its content_blobs row.
   */
  listContent(): AsyncIterable<{ sha256: string; modified: Date }>;
  /** Every upload session's staging, by key, with when it was last written. */
  listStaging(): AsyncIterable<{ key: string; modified: Date }>;

  /**
   * Upload sessions: stages `length` bytes of a file being uploaded in fragments, at `offset`.
   * Returns opaque part ids the caller keeps (in the session row) and hands to commitStaged in
   * order; a fragment that fails half-way leaves nothing the commit would pick up.
   * Rejects with ContentLengthError when the body holds more or fewer than `length` bytes.
   */
  stagePart(key: string, offset: number, body: Readable, length: number): Promise<string[]>;
  /** Turns the staged parts (`size` bytes in all) into content; the staging is gone afterwards. */
  commitStaged(key: string, parts: readonly string[], size: number): Promise<StoredContent>;
  /** Drops a session's staging (cancelled or expired); no error when there is none. */
  discardStaged(key: string): Promise<void>;
}

/** A body opened for sequential reads. */
export interface ContentReader {
  /** Reads up to `length` bytes into `into` at `offset`; 0 at the end of the body. */
  read(into: Buffer, offset: number, length: number): Promise<number>;
  /** Idempotent; also what an abort calls to end a pending read. */
  close(): Promise<void>;
}

export class ContentNotFoundError extends Error {
  constructor(readonly sha256: string) {
    super(`content ${sha256} is not in the content store`);
    this.name = 'ContentNotFoundError';
  }
}

export class ContentTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`content exceeds ${maxBytes} bytes`);
    this.name = 'ContentTooLargeError';
  }
}

/** A body shorter or longer than announced (e.g. a connection dropped mid-fragment). */
export class ContentLengthError extends Error {
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super(`expected ${expected} bytes, received ${received}`);
    this.name = 'ContentLengthError';
  }
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function assertSha256(sha256: string): void {
  // The key becomes a file or blob name: anything but 64 hex digits could walk out of the store.
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a lowercase hex SHA-256: ${JSON.stringify(sha256.slice(0, 80))}`);
}

/** Staging keys become file and blob names too. */
export function assertStagingKey(key: string): void {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(key)) throw new Error('invalid staging key');
}
