import { ContainerClient, ContainerSASPermissions, generateBlobSASQueryParameters, SASProtocol, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/embedded/postgres.ts';
import { AZURITE_ACCOUNT, createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { processesMentioning, runCli, startCli, stopCli, type CliResult } from './support/cli.ts';
import { tempDir } from './support/harness.ts';

// Every command as a new user runs it: child processes of bin/dsr-export.js, against a `serve`
// child on the embedded default (a temp DSR_DATA_DIR) and an Azurite child.

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

let azurite: Azurite;
let serve: { child: ChildProcess } | undefined;
let server: string;
let dataDir: string;
let env: Record<string, string>;
let tenant: string;
let upns: { upn: string; id: string }[];
let token: string;

const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
const api = (method: string, pathname: string, body?: unknown): Promise<Response> =>
  fetch(`${server}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
const container = (name = `cli-${randomUUID().slice(0, 8)}`, permissions?: string): Promise<string> =>
  createContainerSas(azurite, name, permissions ? { permissions } : {});

/**
 * A failure as the CLI promises it: exit 1, one line naming the cause (and a hint line), no
 * stack. Before it, stderr may hold only the plain progress lines of `export`.
 */
function expectCleanFailure(r: CliResult, cause: RegExp, hint?: RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  const at = lines.findIndex((l) => l.startsWith('dsr-export: '));
  expect(at, r.stderr).toBeGreaterThanOrEqual(0);
  for (const l of lines.slice(0, at)) expect(l).toMatch(/^(export accepted: \S+|(notStarted|running|complete|failed) \d+\.\d%)$/);
  expect(lines[at]).toMatch(cause);
  expect(lines.length - at, r.stderr).toBeLessThanOrEqual(2);
  if (hint) expect(lines[at + 1]).toMatch(hint);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  dataDir = await tempDir('dsr-cli-cmd-');
  env = { DSR_DATA_DIR: dataDir, DSR_LOG_LEVEL: 'warn' };
  azurite = await startAzurite();
  serve = await startCli(['serve'], { ...env, DSR_PORT: '0', DSR_STORAGE_ALLOW: azurite.origin }, /listening on (http:\/\/\S+) \(with a worker\)/).then((s) => {
    server = s.match[1]!;
    return s;
  });
});

afterAll(async () => {
  if (serve) expect(await stopCli(serve.child, 'SIGTERM')).toBe(0);
  await azurite?.stop();
  // serve stopped its embedded PostgreSQL with it.
  if (dataDir) {
    expect(await processesMentioning(path.join(dataDir, 'postgres'))).toEqual([]);
    await rm(dataDir, { recursive: true, force: true });
  }
});

// Each command is a fresh Node process; the timeout leaves room for a busy machine.
describe('dsr-export commands', { timeout: 120_000 }, () => {
  it('--help of every command exits 0 and names its options', async () => {
    const expected: Record<string, string[]> = {
      serve: ['--no-worker', '--host', '--port'],
      worker: [],
      seed: ['--users', '--files', '--sign-ins', '--drive-events', '--drive-items', '--seed', '--tenant', '--json'],
      'import-activity': ['<file>', '--tenant', '--skip-invalid', '--json'],
      verify: ['<sas-url>', '--server', '--key', '--json'],
      migrate: [],
      token: ['--tenant', '--app', '--roles', '--user', '--scopes', '--admin', '--expires-in'],
      export: ['<user>', '--to', '--server', '--token', '--tenant', '--json', '--no-wait'],
      status: ['<operationId>', '--server', '--token', '--tenant', '--json'],
      demo: ['--keep', '--users', '--files'],
    };
    const [root, ...each] = await Promise.all([cli('--help'), ...Object.keys(expected).map((c) => cli(c, '--help'))]);
    expect(root.code).toBe(0);
    for (const c of Object.keys(expected)) expect(root.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(root.stdout).toContain('--verbose');
    Object.entries(expected).forEach(([c, options], i) => {
      const r = each[i]!;
      expect(r.code, `${c} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: dsr-export ${c} `, 'm'));
      for (const o of options) expect(r.stdout, `${c} --help`).toContain(o);
    });
  });

  it('seed prints the tenant and the UPNs, or with --json the whole summary; a second seed into the same tenant is refused', async () => {
    const seed = `cli-${randomUUID()}`;
    const plain = await cli('seed', '--users', '2', '--files', '3', '--seed', seed);
    expect(plain.code, plain.stderr).toBe(0);
    const lines = plain.stdout.trimEnd().split('\n');
    const head = new RegExp(`^tenant (${GUID.source}): 2 users, 6 files \\(.+\\), \\d+ drive activities, \\d+ sign-ins$`).exec(lines[0]!);
    expect(head, plain.stdout).not.toBeNull();
    tenant = head![1]!;
    upns = lines.slice(1).map((l) => {
      const m = new RegExp(`^  (\\S+@\\S+)  (${GUID.source})$`).exec(l);
      expect(m, l).not.toBeNull();
      return { upn: m![1]!, id: m![2]! };
    });
    expect(upns).toHaveLength(2);

    const json = await cli('seed', '--users', '1', '--files', '2', '--seed', `${seed}-b`, '--json');
    expect(json.code, json.stderr).toBe(0);
    const summary = JSON.parse(json.stdout) as {
      tenantId: string;
      users: { userPrincipalName: string; files: number }[];
      totals: { users: number; files: number };
    };
    expect(summary.tenantId).toMatch(GUID);
    expect(summary.tenantId).not.toBe(tenant);
    expect(summary.totals).toMatchObject({ users: 1, files: 2 });
    expect(summary.users[0]).toMatchObject({ userPrincipalName: expect.stringMatching(/@/), files: 2 });

    const again = await cli('seed', '--users', '1', '--files', '1', '--seed', seed);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^dsr-export: tenant .* already has users/);
    expect(again.stderr).not.toMatch(/^\s+at /m);
    expectCleanFailure(await cli('seed', '--users', 'many'), /--users must be a positive integer/);
    expectCleanFailure(await cli('seed', '--tenant', 'contoso'), /--tenant must be a GUID/);
  });

  it('token mints a token the server accepts, and refuses bad input with one line', async () => {
    const minted = await cli(
      'token',
      '--tenant',
      tenant,
      '--app',
      randomUUID(),
      '--roles',
      'User.Export.All,User.Read.All,User.ReadWrite.All,AuditLog.Read.All',
    );
    expect(minted.code, minted.stderr).toBe(0);
    token = minted.stdout.trim();
    expect(minted.stdout).toBe(`${token}\n`);
    // The seeded users are served by the running service.
    const found = await api('GET', `/v1.0/users?$filter=userPrincipalName eq '${upns[0]!.upn}'`);
    expect(found.status).toBe(200);
    expect(((await found.json()) as { value: { id: string }[] }).value.map((u) => u.id)).toEqual([upns[0]!.id]);

    const [missing, neither, badApp, badExpiry, unknownUser] = await Promise.all([
      cli('token', '--app', randomUUID()),
      cli('token', '--tenant', tenant),
      cli('token', '--tenant', tenant, '--app', 'my-app'),
      cli('token', '--tenant', tenant, '--app', randomUUID(), '--expires-in', '0'),
      cli('token', '--tenant', tenant, '--user', 'nobody@nowhere.example', '--scopes', 'User.Read.All'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/required option '--tenant <guid>' not specified/);
    expect(missing.stdout).toBe('');
    expectCleanFailure(neither, /give either --app <id> .* or --user <upn or id>/);
    expectCleanFailure(badApp, /--app must be the application \(client\) id, a GUID/);
    expectCleanFailure(badExpiry, /--expires-in must be a positive number of seconds/);
    expectCleanFailure(unknownUser, /no user "nobody@nowhere.example" in tenant/, /Create it first/);
  });

  let operationId: string;
  let packageSas: string;

  it('export --json follows the operation to complete and prints it as JSON only (exit 0)', async () => {
    packageSas = await container();
    const r = await cli('export', upns[0]!.upn, '--to', packageSas, '--tenant', tenant, '--server', server, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const op = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(op).toMatchObject({ status: 'complete', progress: 100, userId: upns[0]!.id, id: expect.stringMatching(GUID) });
    expect(op.storageLocation).toMatch(/sig=REDACTED/);
    expect(r.stdout).not.toContain(new URL(packageSas).searchParams.get('sig')!);
    operationId = op.id as string;
  });

  it('export without --json, not on a terminal: plain progress lines on stderr, the result on stdout', async () => {
    const r = await cli('export', upns[1]!.upn, '--to', await container(), '--tenant', tenant, '--server', server);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^export ${GUID.source} complete at \\S+; check it with: dsr-export verify`));
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^export accepted: ${server}/v1.0/dataPolicyOperations/${GUID.source}$`));
    for (const l of lines.slice(1)) expect(l).toMatch(/^(notStarted|running|complete) \d+\.\d%$/);
    expect(lines.at(-1)).toBe('complete 100.0%');
    // eslint-disable-next-line no-control-regex -- no progress bar's escape codes may reach a non-terminal
    expect(r.stderr).not.toMatch(/\r|\x1b\[/);
  });

  it('status shows one operation, as a line or as JSON', async () => {
    const [line, json, unknown] = await Promise.all([
      cli('status', operationId, '--tenant', tenant, '--server', server),
      cli('status', operationId, '--tenant', tenant, '--server', server, '--json'),
      cli('status', randomUUID(), '--tenant', tenant, '--server', server),
    ]);
    expect(line.code, line.stderr).toBe(0);
    expect(line.stdout).toMatch(new RegExp(`^${operationId} complete 100% user ${upns[0]!.id} submitted \\S+ completed \\S+\\n$`));
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: operationId, status: 'complete', progress: 100 });
    expectCleanFailure(unknown, /status request failed: Request_ResourceNotFound/, /Check the user .* or operation id/);
  });

  it('verify passes on the package, then fails with the difference listed once a blob is changed', async () => {
    const [ok, signed] = await Promise.all([cli('verify', packageSas), cli('verify', packageSas, '--server', server)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('package verified: every file matches manifest.json; its signature was NOT checked (pass --server <url> or --key <file>)\n');
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/^package verified: every file matches manifest.json, signed by the service \(key package-signing-[0-9a-f-]{36}\)\n$/);

    // Same size, one byte different: only the SHA-256 can tell.
    const blob = new ContainerClient(packageSas).getBlockBlobClient('Directory/User.json');
    const body = await blob.downloadToBuffer();
    const at = body.indexOf('"id"');
    body[at + 1] = 'I'.charCodeAt(0);
    await blob.upload(body, body.length);

    const [bad, badJson] = await Promise.all([cli('verify', packageSas), cli('verify', packageSas, '--json')]);
    expectCleanFailure(bad, /the package does not match its manifest \(1 difference\(s\)\)/);
    expect(bad.stdout).toMatch(/^ {2}Directory\/User\.json: SHA-256 [0-9a-f]{64}, manifest says [0-9a-f]{64}\n$/);
    expect(badJson.code).toBe(1);
    expect(JSON.parse(badJson.stdout)).toMatchObject({ ok: false, differences: [{ kind: 'sha256', path: 'Directory/User.json' }] });

    expectCleanFailure(await cli('verify', 'not a url'), /the package location is not a URL/);
  });

  it('a rewritten file with a recomputed manifest fails verify --server and --key, naming the signature', async () => {
    const sas = await container();
    const exported = await cli('export', upns[1]!.upn, '--to', sas, '--tenant', tenant, '--server', server, '--json');
    expect(exported.code, exported.stderr).toBe(0);
    const pkg = new ContainerClient(sas);
    const jwksFile = path.join(dataDir, `jwks-${randomUUID().slice(0, 8)}.json`);
    await writeFile(jwksFile, await (await fetch(`${server}/.well-known/jwks.json`)).text());
    expect((await cli('verify', sas, '--key', jwksFile)).code).toBe(0);

    // What a script in the package (or any SAS holder) can do: rewrite a file, then the manifest.
    const forged = Buffer.from(JSON.stringify({ id: upns[1]!.id, displayName: 'Someone Else' }));
    await pkg.getBlockBlobClient('Directory/User.json').upload(forged, forged.length);
    // The forger keeps the worker's layout (one file's entry per line), so every checksum passes.
    const manifestBlob = pkg.getBlockBlobClient('manifest.json');
    const original = (await manifestBlob.downloadToBuffer()).toString('utf8');
    const lines = original.split('\n').map((line) => {
      if (!line.includes('"path":"Directory/User.json"')) return line;
      const entry = JSON.parse(line.trim().replace(/,$/, '')) as { size: number; sha256: string };
      entry.size = forged.length;
      entry.sha256 = createHash('sha256').update(forged).digest('hex');
      return `    ${JSON.stringify(entry)}${line.trimEnd().endsWith(',') ? ',' : ''}`;
    });
    const rewritten = Buffer.from(lines.join('\n'));
    expect(rewritten.equals(Buffer.from(original))).toBe(false);
    await manifestBlob.upload(rewritten, rewritten.length);

    const [unchecked, viaServer, viaKey, json] = await Promise.all([
      cli('verify', sas),
      cli('verify', sas, '--server', server),
      cli('verify', sas, '--key', jwksFile),
      cli('verify', sas, '--server', server, '--json'),
    ]);
    // Without keys only the checksums are checked, and the output says so.
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).toMatch(/signature was NOT checked/);
    for (const r of [viaServer, viaKey]) {
      expectCleanFailure(r, /the package does not match its manifest \(1 difference\(s\)\)/);
      expect(r.stdout).toMatch(/^ {2}manifest\.json\.jws: the signature of manifest\.json is not valid \(the signature does not match manifest\.json\)/);
    }
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, signature: 'invalid', differences: [{ kind: 'signatureInvalid', path: 'manifest.json.jws' }] });

    // Removing the signature does not help either.
    await pkg.deleteBlob('manifest.json.jws');
    const missing = await cli('verify', sas, '--server', server);
    expectCleanFailure(missing, /1 difference/);
    expect(missing.stdout).toMatch(/manifest\.json\.jws: missing, so manifest\.json is not signed/);
    expectCleanFailure(await cli('verify', sas, '--key', path.join(dataDir, 'no-such-file.json')), /cannot read keys from/, /Pass a JWKS/);

    // The same manifest in another JSON layout is refused as invalid and still named as unsigned.
    await pkg.getBlockBlobClient('manifest.json.jws').upload(Buffer.from('x.y.z'), 5);
    const relaid = Buffer.from(JSON.stringify(JSON.parse(rewritten.toString('utf8'))));
    await manifestBlob.upload(relaid, relaid.length);
    const relaidJson = await cli('verify', sas, '--server', server, '--json');
    expect(JSON.parse(relaidJson.stdout)).toMatchObject({ ok: false, differences: [{ kind: 'manifestInvalid' }, { kind: 'signatureInvalid' }] });
  });

  it('import-activity loads a good file; a file with bad lines loads nothing and names them, unless --skip-invalid', async () => {
    const created = await api('POST', '/v1.0/users', { userPrincipalName: `imp-${randomUUID().slice(0, 6)}@cli.example`, displayName: 'Import Target' });
    expect(created.status).toBe(201);
    const userId = ((await created.json()) as { id: string }).id;
    const signIn = (extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        id: randomUUID(),
        createdDateTime: '2026-11-20T08:15:30Z',
        userId,
        appId: 'd3590ed6-52b3-4102-aeff-aad2292ab01c',
        ipAddress: '203.0.113.7',
        status: { errorCode: 0 },
        ...extra,
      });
    const dir = await tempDir('dsr-cli-import-');
    const good = path.join(dir, 'good.jsonl');
    const bad = path.join(dir, 'bad.jsonl');
    await writeFile(good, `${signIn()}\n${signIn()}\n\n`);
    await writeFile(bad, [signIn(), '{not json', signIn({ createdDateTime: 'yesterday' }), signIn()].join('\n'));
    const count = async () => {
      const res = await api('GET', `/v1.0/auditLogs/signIns?$filter=userId eq '${userId}'`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { value: unknown[] }).value.length;
    };

    const ok = await cli('import-activity', good, '--tenant', tenant);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('read 2 lines: imported 2, duplicates 0, invalid 0\n');
    expect(await count()).toBe(2);

    const again = await cli('import-activity', good, '--tenant', tenant, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ read: 2, imported: 0, duplicates: 2, committed: true, errors: [] });

    const refused = await cli('import-activity', bad, '--tenant', tenant);
    expectCleanFailure(refused, new RegExp(`${bad} has 2 invalid line\\(s\\); nothing was imported`), /--skip-invalid/);
    expect(refused.stdout).toMatch(/^ {2}line 2: not valid JSON/m);
    expect(refused.stdout).toMatch(/^ {2}line 3: createdDateTime /m);
    expect(await count()).toBe(2);

    const skipped = await cli('import-activity', bad, '--tenant', tenant, '--skip-invalid');
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toMatch(/^read 4 lines: imported 2, duplicates 0, invalid 2\n {2}line 2: .*\n {2}line 3: .*\n$/);
    expect(await count()).toBe(4);

    expectCleanFailure(await cli('import-activity', path.join(dir, 'missing.jsonl'), '--tenant', tenant), /cannot read .*missing\.jsonl \(ENOENT\)/);
    expectCleanFailure(await cli('import-activity', good, '--tenant', 'contoso'), /--tenant must be a GUID/);
    await rm(dir, { recursive: true, force: true });
  });

  it('errors are one line naming the cause and what to do, exit 1, a stack only with --verbose', async () => {
    const sas = await container();
    const closed = await freePort();
    const stranger = await tempDir('dsr-cli-other-');
    const foreignToken = (
      await runCli(['token', '--tenant', tenant, '--app', randomUUID(), '--roles', 'User.Export.All'], { DSR_DATA_DIR: stranger })
    ).stdout.trim();
    const [down, refused, verbose, garbage, foreign, readOnly] = await Promise.all([
      cli('export', upns[0]!.upn, '--to', sas, '--tenant', tenant, '--server', 'http://127.0.0.1:1'),
      cli('export', upns[0]!.upn, '--to', sas, '--tenant', tenant, '--server', `http://127.0.0.1:${closed}`),
      cli('export', upns[0]!.upn, '--to', sas, '--tenant', tenant, '--server', `http://127.0.0.1:${closed}`, '--verbose'),
      cli('status', operationId, '--token', 'not-a-token', '--server', server),
      cli('export', upns[0]!.upn, '--to', sas, '--token', foreignToken, '--server', server),
      cli('export', upns[0]!.upn, '--to', await container(undefined, 'rl'), '--tenant', tenant, '--server', server),
    ]);
    await rm(stranger, { recursive: true, force: true });

    expectCleanFailure(down, /cannot reach the server at http:\/\/127\.0\.0\.1:1 /, /dsr-export serve.*--server/);
    expectCleanFailure(refused, new RegExp(`cannot reach the server at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`), /dsr-export serve/);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/^dsr-export: cannot reach the server/);
    expect(verbose.stderr).toMatch(/^\s+at .*api-client\.ts/m);
    expectCleanFailure(garbage, /status request failed: InvalidAuthenticationToken: /, /dsr-export token/);
    expectCleanFailure(foreign, /export request failed: InvalidAuthenticationToken: /, /dsr-export token/);
    expectCleanFailure(
      readOnly,
      /export request failed: InvalidStorageLocation: .*create \(c\) and write \(w\)/,
      /empty container with create and write permissions/,
    );
  });

  it('an operation that fails (storage refuses the SAS) exits 1 naming the code, and so does its status', async () => {
    // A SAS signed with another account key (a rotated key): valid at the POST, refused by storage.
    const name = `cli-${randomUUID().slice(0, 8)}`;
    await azurite.service.getContainerClient(name).create();
    const stale = new StorageSharedKeyCredential(AZURITE_ACCOUNT, randomBytes(64).toString('base64'));
    const sas = generateBlobSASQueryParameters(
      {
        containerName: name,
        permissions: ContainerSASPermissions.parse('racwl'),
        protocol: SASProtocol.HttpsAndHttp,
        startsOn: new Date(Date.now() - 60_000),
        expiresOn: new Date(Date.now() + 4 * 3600_000),
      },
      stale,
    ).toString();
    const r = await cli('export', upns[1]!.upn, '--to', `${azurite.accountUrl}/${name}?${sas}`, '--tenant', tenant, '--server', server);
    expectCleanFailure(
      r,
      new RegExp(`^dsr-export: export (${GUID.source}) failed: StorageLocationAccessDenied: \\S`),
      /request a new export into an empty container/,
    );
    const id = new RegExp(`export (${GUID.source}) failed`).exec(r.stderr)![1]!;
    const status = await cli('status', id, '--tenant', tenant, '--server', server);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(new RegExp(`^${id} failed \\S+% user ${upns[1]!.id} .* error StorageLocationAccessDenied: `));
  });
});
