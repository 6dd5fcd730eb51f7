import type { Readable } from 'node:stream';

/** What `put` learned while streaming a body in. */
export interface StoredContent {
  /** Lowercase hex SHA-256 of the bytes: the content's key. */
  readonly sha256: string;
  readonly size: number;
}

/**
 * Immutable, content-addressed file bodies (DESIGN.md §2). Two implementations: a local folder
 * (default) and an Azure Blob container. Callers never see where bytes live, only their hash.
 */
export interface ContentStore {
  /** Streams a body in, hashing as it goes; memory stays flat whatever the size. */
  put(body: Readable, opts?: { maxBytes?: number }): Promise<StoredContent>;
  /** Streams a body out; `end` is inclusive, as in HTTP ranges. */
  get(sha256: string, range?: { start: number; end: number }): Promise<Readable>;
  has(sha256: string): Promise<boolean>;
  delete(sha256: string): Promise<void>;
}
