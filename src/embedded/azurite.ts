import { BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, SASProtocol, StorageSharedKeyCredential } from '@azure/storage-blob';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// Azurite's well-known development account (public, documented by Microsoft).
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const SERVER_SCRIPT = fileURLToPath(new URL('./azurite-server.cjs', import.meta.url));

export interface Azurite {
  /** `http://127.0.0.1:<port>`: the origin to put in DSR_STORAGE_ALLOW. */
  readonly origin: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1`. */
  readonly accountUrl: string;
  readonly port: number;
  readonly pid: number;
  readonly service: BlobServiceClient;
  readonly credential: StorageSharedKeyCredential;
  /** Resolves when Azurite's extent collector next finishes a pass (only with `gcIntervalMs`). */
  nextGcPass(): Promise<void>;
  /** Stops the process (its in-memory data is gone). */
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  gcIntervalMs?: number;
  listPage?: number;
  keyedLookups?: boolean;
}

/**
 * Starts an Azurite blob service in a child process, on `port` (0 = a free one): in memory, or
 * persisted in `dir` so that a stop and a start on the same port and folder keep every blob.
 * For tests, `gcIntervalMs` runs Azurite's extent collector that often instead of every 10
 * minutes, and `listPage` sets the blobs per page of a listing (5,000). For benchmarks,
 * `keyedLookups` finds a blob without scanning the store (azurite-server.cjs).
 */
export async function startAzurite(port = 0, dir?: string, opts: AzuriteOptions = {}): Promise<Azurite> {
  const env = { ...process.env };
  if (opts.gcIntervalMs) env.AZURITE_GC_INTERVAL_MS = String(opts.gcIntervalMs);
  if (opts.listPage) env.AZURITE_LIST_PAGE = String(opts.listPage);
  if (opts.keyedLookups) env.AZURITE_KEYED_LOOKUPS = '1';
  const child: ChildProcess = spawn(process.execPath, [SERVER_SCRIPT, String(port), ...(dir ? [dir] : [])], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += String(d);
  });
  const lines = createInterface({ input: child.stdout! });
  const origin = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => {
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
    origin,
    accountUrl,
    port: Number(new URL(origin).port),
    pid: child.pid!,
    credential,
    service: new BlobServiceClient(accountUrl, credential),
    nextGcPass: () =>
      new Promise<void>((resolve) => {
        const onLine = (line: string) => {
          if (!line.includes('"gc"')) return;
          lines.off('line', onLine);
          resolve();
        };
        lines.on('line', onLine);
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Creates a container and returns a container SAS URL for it, as a DSR caller would send it.
 * `protocol` allows http because Azurite is plain http.
 */
export async function createContainerSas(
  azurite: Pick<Azurite, 'service' | 'credential' | 'accountUrl'>,
  name: string,
  opts: { permissions?: string; expiresInSeconds?: number; create?: boolean } = {},
): Promise<string> {
  if (opts.create !== false) await azurite.service.getContainerClient(name).createIfNotExists();
  const sas = generateBlobSASQueryParameters(
    {
      containerName: name,
      permissions: ContainerSASPermissions.parse(opts.permissions ?? 'racwdl'),
      startsOn: new Date(Date.now() - 60_000),
      expiresOn: new Date(Date.now() + (opts.expiresInSeconds ?? 4 * 3600) * 1000),
      protocol: SASProtocol.HttpsAndHttp,
    },
    azurite.credential,
  ).toString();
  return `${azurite.accountUrl}/${name}?${sas}`;
}
