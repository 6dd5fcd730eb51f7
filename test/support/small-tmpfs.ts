import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tempDir } from './harness.ts';

/** A small tmpfs to fill until the kernel answers ENOSPC, as a disk that is really full. */
export interface SmallTmpfs {
  /** Where to write: a path on the tmpfs that this process and its children can use. */
  readonly dir: string;
  /** How it was mounted, for the test's output. */
  readonly how: string;
  unmount(): Promise<void>;
}

/**
 * Mounts a tmpfs of `sizeMiB` without root where the kernel allows unprivileged user namespaces:
 * `unshare --user --map-root-user --mount` mounts it in a mount namespace of its own, held open
 * by a sleeping process, and this process reaches it through that process's root
 * (`/proc/<pid>/root/…`), which its owner may enter. Killing the holder unmounts it, also when
 * the test dies. Otherwise, as root, a plain mount. Otherwise the reasons both failed.
 */
export async function mountSmallTmpfs(sizeMiB: number): Promise<SmallTmpfs | { reason: string }> {
  const dir = await tempDir('dsr-diskfull-');
  const reasons: string[] = [];
  try {
    return await mountInUserNamespace(dir, sizeMiB);
  } catch (err) {
    reasons.push(`user namespace: ${(err as Error).message}`);
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return {
      dir,
      how: 'mount as root',
      unmount: async () => {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    reasons.push(`mount: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
  }
  await rm(dir, { recursive: true, force: true });
  return { reason: `cannot mount a ${sizeMiB} MiB tmpfs here (${reasons.join('; ')})` };
}

async function mountInUserNamespace(dir: string, sizeMiB: number): Promise<SmallTmpfs> {
  const holder = spawn(
    'unshare',
    [
      '--user',
      '--map-root-user',
      '--mount',
      'sh',
      '-c',
      'mount -t tmpfs -o "size=$1m" tmpfs "$2" && echo "$$" && exec sleep 86400',
      'sh',
      String(sizeMiB),
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  holder.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => holder.once('close', () => resolve()));
  const failed = new Promise<never>((_, reject) => holder.once('error', reject));
  failed.catch(() => undefined);
  const firstLine = once(createInterface({ input: holder.stdout }), 'line').then(([line]) => String(line).trim());
  const pid = await Promise.race([
    firstLine,
    failed,
    exited.then(() => {
      throw new Error(stderr.trim() || 'unshare exited');
    }),
  ]);
  const onTmpfs = `/proc/${pid}/root${dir}`;
  try {
    const fsType = execFileSync('stat', ['-f', '-c', '%T', onTmpfs], { encoding: 'utf8' }).trim();
    if (fsType !== 'tmpfs') throw new Error(`${onTmpfs} is ${fsType}, not tmpfs`);
  } catch (err) {
    holder.kill('SIGKILL');
    throw err;
  }
  return {
    dir: onTmpfs,
    how: 'unprivileged user namespace (unshare -rm)',
    unmount: async () => {
      if (holder.exitCode === null && holder.signalCode === null) {
        holder.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
