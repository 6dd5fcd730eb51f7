import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AZURITE_ACCOUNT, AZURITE_KEY, type Azurite } from '../../src/storage/azurite.ts';

const SCRIPT = fileURLToPath(new URL('./azurite-disk-server.cjs', import.meta.url));

/** Like startAzurite, but persisted in `dir`: stop + start on the same port and folder keeps every blob. */
export async function startDiskAzurite(dir: string, port = 0): Promise<Azurite> {
  const child = spawn(process.execPath, [SCRIPT, String(port), dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += String(d); });
  const origin = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      try {
        resolve(String((JSON.parse(line) as { url: string }).url).replace(/\/$/, ''));
      } catch {
        reject(new Error(`Azurite printed an unexpected line: ${line}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`Azurite exited with code ${code}: ${stderr.trim()}`)));
  });
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
  const accountUrl = `${origin}/${AZURITE_ACCOUNT}`;
  return {
    origin, accountUrl, port: Number(new URL(origin).port), pid: child.pid!, credential,
    service: new BlobServiceClient(accountUrl, credential),
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
