import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The contents of a key file in the data folder, made by `create` on first use. The new key is
 * written whole under a temporary name and linked into place: link() refuses to replace a file, so
 * of two processes starting together exactly one key wins, and both read it; none reads half a key.
 */
export async function readOrCreateKeyFile(file: string, create: () => Promise<string> | string): Promise<string> {
  if (!existsSync(file)) {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, await create(), { mode: 0o600 });
      await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
  return readFile(file, 'utf8');
}
