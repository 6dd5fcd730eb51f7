import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tokenClaims } from '../auth/local-issuer.ts';
import { loadConfig } from '../config.ts';
import { redactSasSignatures } from '../domain/storage-location.ts';
import type { PackageManifest } from '../export/render-package.ts';
import { formatBytes } from '../export/render-package.ts';
import { createLogger } from '../logger.ts';
import { seedTenant } from '../seed/seed-tenant.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, createContainerSas, startAzurite, type Azurite } from '../embedded/azurite.ts';
import { createSignInLink, signInUrl } from '../console/sign-in-links.ts';
import { ApiClient } from './api-client.ts';
import { followOperation, submitExport } from './export-command.ts';
import { CliError } from './fail.ts';
import { startServer, type RunningServer } from '../start/start-server.ts';
import { describeDifference, loadVerifyKeys, verifyWithProgress } from './verify-command.ts';

export interface DemoOptions {
  keep: boolean;
  users: number;
  files: number;
  /** Resolves when a --keep demo should shut down (SIGINT/SIGTERM). */
  untilStopped: () => Promise<void>;
  write?: (line: string) => void;
}

/** Copies every blob of the package to a local folder, so index.html opens from disk too. */
async function downloadPackage(sasUrl: string, folder: string): Promise<void> {
  const container = new ContainerClient(sasUrl);
  for await (const blob of container.listBlobsFlat()) {
    const file = path.join(folder, ...blob.name.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await container.getBlobClient(blob.name).downloadToFile(file);
  }
}

/**
 * `dsr-export demo`: the whole path on the embedded default, in a temporary data folder:
 * PostgreSQL, an Azurite of its own, a seeded tenant, an export requested through the HTTP API
 * with a local-issuer token, followed to the end, verified, downloaded, summarised.
 */
export async function runDemo(opts: DemoOptions): Promise<void> {
  const say = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dsr-demo-'));
  let azurite: Azurite | undefined;
  let server: RunningServer | undefined;
  try {
    say('1/6 starting Azurite (in-memory) and dsr-export with an embedded PostgreSQL…');
    azurite = await startAzurite();
    const config = loadConfig({
      DSR_DATA_DIR: dataDir,
      DSR_PORT: '0',
      DSR_STORAGE_ALLOW: azurite.origin,
      DSR_LOG_LEVEL: 'warn',
      // Cases (and so the console) keep their packages in the same Azurite.
      DSR_CASES_STORAGE: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.accountUrl};`,
    });
    server = await startServer(config, { withWorker: true, logger: createLogger('warn') });
    say(`    API ${server.url}, Azurite ${azurite.accountUrl}, data in ${dataDir}`);

    say(`2/6 seeding a synthetic tenant (${opts.users} users, ${opts.files} files each)…`);
    const seeded = await seedTenant({
      db: server.db,
      contentStore: server.contentStore,
      users: opts.users,
      filesPerUser: opts.files,
      seed: 'demo',
      now: new Date(),
    });
    const subject = seeded.users[0]!;
    say(
      `    tenant ${seeded.tenantId}; exporting ${subject.userPrincipalName} (${subject.files} files, ${formatBytes(subject.bytes)}, ${subject.signIns} sign-ins)`,
    );

    say('3/6 creating a container and a container SAS…');
    const sas = await createContainerSas(azurite, `dsr-demo-${Date.now().toString(36)}`);

    say('4/6 POST /v1.0/users/{upn}/exportPersonalData with a local-issuer application token…');
    const token = await server.localIssuer!.sign(
      tokenClaims({
        tenant: seeded.tenantId,
        app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All', 'User.ReadWrite.All', 'AuditLog.Read.All', 'Files.ReadWrite.All'] },
      }),
      24 * 3600,
    );
    const api = new ApiClient(server.url, token);
    const location = await submitExport(api, subject.userPrincipalName, sas);
    say(`    202 Accepted, Location: ${location}`);
    const op = await followOperation(api, location, { out: process.stderr });
    if (op.status !== 'complete') throw new CliError(`the export failed: ${op.error?.code}: ${op.error?.message}`);

    say('5/6 verifying the package against manifest.json and its signature…');
    const differences = await verifyWithProgress(sas, { keys: await loadVerifyKeys({ server: server.url }) });
    if (differences.length > 0) {
      for (const d of differences) say(`    ${describeDifference(d)}`);
      throw new CliError(`the package does not verify (${differences.length} difference(s))`);
    }

    say('6/6 downloading the package…');
    const folder = path.join(os.tmpdir(), `dsr-demo-package-${op.id.slice(0, 8)}`);
    await rm(folder, { recursive: true, force: true });
    await downloadPackage(sas, folder);
    const manifest = JSON.parse(await readFile(path.join(folder, 'manifest.json'), 'utf8')) as PackageManifest;
    const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
    say('');
    say(`Export ${op.id} complete and verified in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
    say(`  ${manifest.files.length} files, ${formatBytes(bytes)} (+ manifest.json, signed), every SHA-256 and the signature checked`);
    say(`  package in the container: ${redactSasSignatures(sas)}`);
    say(`  a copy on disk: ${folder}`);
    say(`  open it: xdg-open ${path.join(folder, 'index.html')}   (or any browser: file://${path.join(folder, 'index.html')})`);

    if (opts.keep) {
      say('');
      say('Everything keeps running (--keep); Ctrl-C stops it.');
      say(`  API:        ${server.url}`);
      say(`  Azurite:    ${azurite.accountUrl}`);
      say(`  index.html: ${sas.replace('?', '/index.html?')}`);
      const nonce = await createSignInLink(server.db, { tenantId: seeded.tenantId, userId: subject.id, admin: true }, new Date());
      say(`  console:    ${signInUrl(server.url, nonce)}   (works once, within 5 minutes)`);
      say(`  token:      ${token}`);
      say(`  try:        curl -s -H "Authorization: Bearer ${token}" ${location}`);
      await opts.untilStopped();
    }
  } finally {
    await server?.stop().catch(() => undefined);
    await azurite?.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
