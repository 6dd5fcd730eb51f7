import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ContentNotFoundError, type ContentStore } from '../../src/content/content-store.ts';

/**
 * A FAKE content store for tests of code that only puts and reads whole bodies (seed): files
 * named by their SHA-256 in one folder, no fsync, no upload sessions. Not the product's store
 * (src/content/local-content-store.ts); it exists because that one's put did not complete on
 * Node 20 while it was being written (FileHandle.close after a stream with autoClose: false).
 */
export function createFakeContentStore(root: string): ContentStore {
  const fileOf = (sha256: string) => path.join(root, sha256);
  const unsupported = async (): Promise<never> => {
    throw new Error('upload sessions are not supported by the fake content store');
  };
  return {
    async put(body) {
      await mkdir(root, { recursive: true });
      const tmp = path.join(root, `tmp-${randomUUID()}`);
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(body, meter, createWriteStream(tmp));
      const sha256 = hash.digest('hex');
      await rename(tmp, fileOf(sha256));
      return { sha256, size };
    },
    async get(sha256, range) {
      if (!(await this.has(sha256))) throw new ContentNotFoundError(sha256);
      return createReadStream(fileOf(sha256), range ? { start: range.start, end: range.end } : {});
    },
    has: (sha256) => stat(fileOf(sha256)).then(() => true, () => false),
    delete: (sha256) => rm(fileOf(sha256), { force: true }),
    stagePart: unsupported,
    commitStaged: unsupported,
    discardStaged: unsupported,
  };
}
