// Upload memory: does the server's memory stay flat while files stream through it?
// Starts the API as a child process (its RSS is read from /proc/PID/status) on a temporary
// embedded PostgreSQL, uploads a 1 GiB file through an upload session in 10 MiB fragments and a
// 200 MiB file by simple upload (bodies generated on the fly), and compares the server's peak RSS
// during the uploads with its RSS after start. Target: delta ≤ 64 MiB. Run: npx tsx bench/upload-memory.ts
import { createHash, randomUUID } from 'node:crypto';
import { chmod, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';
import { createTokenVerifier } from '../src/auth/verify-token.ts';
import { loadConfig } from '../src/config.ts';
import { createContentStore } from '../src/content/create-content-store.ts';
import { startEmbeddedPostgres } from '../src/embedded/postgres.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { emit, memoryOf, startChild, stopChild, tempDir } from './lib.ts';

const MiB = 1024 * 1024;
const SESSION_BYTES = 1024 * MiB;
const FRAGMENT_BYTES = 10 * MiB;
const SIMPLE_BYTES = 200 * MiB;
const TARGET_DELTA_MiB = 64;

/** Child mode: the API server alone, printing its port. */
async function serve(dataDir: string, dbUrl: string): Promise<void> {
  const config = loadConfig({ DSR_DATA_DIR: dataDir, DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '1000000' });
  const db = createPool(dbUrl);
  await migrate(db);
  const issuer = await loadLocalIssuer(dataDir);
  let publicUrl = '';
  const app = await buildApp({
    config,
    db,
    localIssuer: issuer,
    logger: undefined,
    contentStore: createContentStore(config),
    verifier: createTokenVerifier(config, issuer),
    clock: () => new Date(),
    publicUrl: () => publicUrl,
    draining: () => false,
  });
  publicUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`LISTENING ${publicUrl}\n`);
  process.once(
    'SIGTERM',
    () =>
      void app
        .close()
        .then(() => db.end())
        .then(() => process.exit(0)),
  );
}

/** Deterministic bytes for [offset, offset + length): the client never holds more than one piece. */
function piece(offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 4096) buf.fill(((offset + i) / 4096) & 0xff, i, Math.min(i + 4096, length));
  buf.writeUInt32LE(offset >>> 0, 0);
  return buf;
}

function request(url: string, opts: http.RequestOptions, write: (req: http.ClientRequest) => Promise<void>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, opts, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += String(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    write(req).then(() => req.end(), reject);
  });
}

async function writeAll(req: http.ClientRequest, total: number, pieceBytes: number, hash: ReturnType<typeof createHash>): Promise<void> {
  for (let at = 0; at < total; at += pieceBytes) {
    const p = piece(at, Math.min(pieceBytes, total - at));
    hash.update(p);
    if (!req.write(p)) await new Promise((r) => req.once('drain', r));
  }
}

async function main(): Promise<void> {
  const dir = await tempDir('dsr-bench-upload-');
  // As root, PostgreSQL runs as the postgres user, which must reach its folder through this one.
  await chmod(dir, 0o755);
  const pg = await startEmbeddedPostgres(path.join(dir, 'pg'));
  const { child, match } = await startChild(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--server', path.join(dir, 'data'), pg.url],
    {},
    /^LISTENING (\S+)/,
  );
  const pid = child.pid!;
  const base = match[1]!;
  try {
    const issuer = await loadLocalIssuer(path.join(dir, 'data'));
    const tenant = randomUUID();
    const token = await issuer.sign(tokenClaims({ tenant, app: { id: randomUUID(), roles: ['Files.ReadWrite.All', 'User.ReadWrite.All'] } }), 3600);
    const auth = { authorization: `Bearer ${token}` };
    const created = await fetch(`${base}/v1.0/users`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ userPrincipalName: 'bench@contoso.test', displayName: 'Bench', accountEnabled: true }),
    });
    const user = ((await created.json()) as { id: string }).id;
    // Warm-up: one small upload of each kind, so the baseline includes loaded code paths.
    await fetch(`${base}/v1.0/users/${user}/drive/root:/warm.txt:/content`, { method: 'PUT', headers: auth, body: 'warm' });

    const baseline = (await memoryOf(pid)).rssMiB;
    // Reset VmHWM to the current RSS (Linux ≥ 4.0), so the peak is the uploads' own.
    await writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => undefined);
    let sampledPeak = baseline;
    const sampler = setInterval(() => {
      memoryOf(pid).then(
        (m) => {
          sampledPeak = Math.max(sampledPeak, m.rssMiB);
        },
        () => undefined,
      );
    }, 50);

    const t0 = Date.now();
    const session = await fetch(`${base}/v1.0/users/${user}/drive/root:/Bench/one-gib.bin:/createUploadSession`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    const uploadUrl = ((await session.json()) as { uploadUrl: string }).uploadUrl;
    const sessionHash = createHash('sha256');
    let final = { status: 0, body: '' };
    for (let first = 0; first < SESSION_BYTES; first += FRAGMENT_BYTES) {
      const length = Math.min(FRAGMENT_BYTES, SESSION_BYTES - first);
      final = await request(
        uploadUrl,
        {
          method: 'PUT',
          headers: { 'content-range': `bytes ${first}-${first + length - 1}/${SESSION_BYTES}`, 'content-length': length },
        },
        async (req) => writeAll(req, length, MiB, sessionHash).then(() => undefined),
      );
      if (final.status >= 300 && first + length < SESSION_BYTES) throw new Error(`fragment at ${first}: ${final.status} ${final.body}`);
    }
    const sessionSeconds = (Date.now() - t0) / 1000;
    const sessionItem = JSON.parse(final.body) as { size: number; file: { hashes: { sha256Hash: string } } };
    if (final.status !== 201 || sessionItem.file.hashes.sha256Hash !== sessionHash.digest('hex').toUpperCase()) {
      throw new Error(`session upload ended with ${final.status}: ${final.body.slice(0, 300)}`);
    }

    const t1 = Date.now();
    const simpleHash = createHash('sha256');
    const simple = await request(
      `${base}/v1.0/users/${user}/drive/root:/Bench/two-hundred-mib.bin:/content`,
      {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': SIMPLE_BYTES },
      },
      (req) => writeAll(req, SIMPLE_BYTES, MiB, simpleHash),
    );
    const simpleSeconds = (Date.now() - t1) / 1000;
    const simpleItem = JSON.parse(simple.body) as { file: { hashes: { sha256Hash: string } } };
    if (simple.status !== 201 || simpleItem.file.hashes.sha256Hash !== simpleHash.digest('hex').toUpperCase()) {
      throw new Error(`simple upload ended with ${simple.status}: ${simple.body.slice(0, 300)}`);
    }
    clearInterval(sampler);
    const { hwmMiB } = await memoryOf(pid);
    const peak = Math.max(hwmMiB, sampledPeak);
    const delta = peak - baseline;
    const met = delta <= TARGET_DELTA_MiB;
    const f = (n: number) => n.toFixed(1);
    process.stdout.write(
      [
        '| measure | value |',
        '|---|---|',
        `| baseline RSS after start | ${f(baseline)} MiB |`,
        `| peak RSS during uploads (VmHWM) | ${f(peak)} MiB |`,
        `| delta | ${f(delta)} MiB |`,
        `| 1 GiB session upload, 10 MiB fragments | ${sessionSeconds.toFixed(1)} s (${(1024 / sessionSeconds).toFixed(0)} MiB/s) |`,
        `| 200 MiB simple upload | ${simpleSeconds.toFixed(1)} s (${(200 / simpleSeconds).toFixed(0)} MiB/s) |`,
        `| target: delta ≤ ${TARGET_DELTA_MiB} MiB | ${met ? 'PASS' : 'FAIL'} |`,
        '',
      ].join('\n'),
    );
    process.env.BENCH_QUIET = '1';
    emit([
      { figure: 'upload server RSS growth (1 GiB session + 200 MiB simple)', value: delta, unit: 'MiB', baseline, target: `≤ ${TARGET_DELTA_MiB} MiB`, met },
    ]);
    if (!met) process.exitCode = 1;
  } finally {
    await stopChild(child);
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--server') {
  await serve(process.argv[3]!, process.argv[4]!);
} else {
  await main();
}
