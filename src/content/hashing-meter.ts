import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ContentLengthError, ContentTooLargeError } from './content-store.ts';
import { QuickXorHash } from './quick-xor-hash.ts';

/**
 * A pass-through that hashes and counts the bytes on their way to storage, so a body is read
 * once and never held in memory. It fails the pipeline as soon as `maxBytes` is passed (a
 * chunked upload without Content-Length is cut off there, not after it has been stored) and,
 * with `exactBytes`, when the body ends short (a dropped connection) or runs long.
 */
export class HashingMeter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly quickXor = new QuickXorHash();
  bytes = 0;

  constructor(private readonly limits: { maxBytes?: number; exactBytes?: number } = {}) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const { maxBytes, exactBytes } = this.limits;
    if (maxBytes !== undefined && this.bytes > maxBytes) return done(new ContentTooLargeError(maxBytes));
    if (exactBytes !== undefined && this.bytes > exactBytes) return done(new ContentLengthError(exactBytes, this.bytes));
    this.hash.update(chunk);
    this.quickXor.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const { exactBytes } = this.limits;
    if (exactBytes !== undefined && this.bytes !== exactBytes) return done(new ContentLengthError(exactBytes, this.bytes));
    done();
  }

  /** Lowercase hex; call once, after the stream finished. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** OneDrive's quickXorHash of the same bytes (base64). */
  quickXorHash(): string {
    return this.quickXor.digest();
  }
}

/**
 * Hashes a body read back from storage (a committed upload session) in one pass; rejects with
 * ContentLengthError when it does not hold exactly `size` bytes.
 */
export async function hashStoredBody(source: AsyncIterable<Buffer>, size: number): Promise<{ sha256: string; quickXorHash: string }> {
  const sha = createHash('sha256');
  const quickXor = new QuickXorHash();
  let bytes = 0;
  for await (const chunk of source) {
    sha.update(chunk);
    quickXor.update(chunk);
    bytes += chunk.length;
  }
  if (bytes !== size) throw new ContentLengthError(size, bytes);
  return { sha256: sha.digest('hex'), quickXorHash: quickXor.digest() };
}
