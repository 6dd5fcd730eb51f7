import { Presets, SingleBar } from 'cli-progress';
import type { JSONWebKeySet } from 'jose';
import { fetchServiceKeys, readKeyFile } from '../export/package-signature.ts';
import { verifyPackage, type PackageDifference } from '../export/verify-package.ts';
import { redactSasSignatures } from '../domain/storage-location.ts';
import { CliError } from './fail.ts';

export function describeDifference(d: PackageDifference): string {
  switch (d.kind) {
    case 'manifestMissing':
      return `${d.path}: missing (the export never completed, or this is not a package)`;
    case 'manifestInvalid':
      return `${d.path}: not a valid manifest`;
    case 'signatureMissing':
      return `${d.path}: missing, so manifest.json is not signed (a package of this service always is)`;
    case 'signatureInvalid':
      return `${d.path}: the signature of manifest.json is not valid (${d.actual}); the manifest was changed or not signed by this service`;
    case 'missing':
      return `${d.path}: listed in the manifest but missing`;
    case 'extra':
      return `${d.path}: present but not in the manifest`;
    case 'size':
      return `${d.path}: size ${d.actual}, manifest says ${d.expected}`;
    case 'sha256':
      return `${d.path}: SHA-256 ${d.actual}, manifest says ${d.expected}`;
  }
}

/**
 * The keys to check the manifest's signature with: the service's JWKS (`--server`) or a JWKS or
 * JWK file (`--key`); none when neither is given.
 */
export async function loadVerifyKeys(opts: { server?: string | undefined; key?: string | undefined }): Promise<JSONWebKeySet | undefined> {
  if (opts.server && opts.key) throw new CliError('pass either --server or --key, not both');
  if (opts.key) {
    return readKeyFile(opts.key).catch((err: unknown) => {
      throw new CliError(
        `cannot read keys from ${opts.key}: ${(err as Error).message}`,
        'Pass a JWKS ({"keys": […]}) or a single JWK, for example a saved copy of the service\'s /.well-known/jwks.json.',
      );
    });
  }
  if (opts.server) {
    const server = opts.server;
    return fetchServiceKeys(server).catch((err: unknown) => {
      throw new CliError(
        `cannot get the service's keys from ${server}: ${(err as Error).message}`,
        'Check the URL of the dsr-export API, or pass a saved JWKS with --key.',
      );
    });
  }
  return undefined;
}

/** Runs verifyPackage with a progress bar on a terminal; storage errors become one clear line. */
export async function verifyWithProgress(
  sasUrl: string,
  opts: { json?: boolean | undefined; out?: NodeJS.WriteStream; keys?: JSONWebKeySet | undefined; onSigned?: (kid: string) => void } = {},
): Promise<PackageDifference[]> {
  const out = opts.out ?? process.stderr;
  let url: URL;
  try {
    url = new URL(sasUrl);
  } catch {
    throw new CliError('the package location is not a URL', 'Pass the SAS URL of the container the export was written to (read and list permissions).');
  }
  const bar =
    out.isTTY && !opts.json
      ? new SingleBar({ format: 'verify {bar} {percentage}% | {value}/{total} files | {path}', hideCursor: true, stream: out }, Presets.shades_classic)
      : undefined;
  let started = false;
  try {
    return await verifyPackage(
      url.toString(),
      (p) => {
        if (!bar) return;
        if (!started) {
          bar.start(p.filesTotal, 0, { path: '' });
          started = true;
        }
        bar.update(p.filesChecked, { path: p.path.length > 40 ? `…${p.path.slice(-39)}` : p.path });
      },
      { keys: opts.keys, onSigned: opts.onSigned },
    );
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    const where = redactSasSignatures(sasUrl);
    if (status === 403)
      throw new CliError(`storage refused access to ${where} (403)`, 'The SAS needs read (r) and list (l) permissions and must not have expired.');
    if (status === 404) throw new CliError(`no such container: ${where}`);
    const code = (err as { code?: string }).code;
    throw new CliError(`cannot read ${where}: ${code ?? (err as Error).message}`);
  } finally {
    if (started) bar?.stop();
  }
}

/** `dsr-export verify`: the package against its manifest, and its signature when keys are given. */
export async function runVerify(sasUrl: string, opts: { json?: boolean | undefined; server?: string | undefined; key?: string | undefined }): Promise<void> {
  const keys = await loadVerifyKeys(opts);
  let signedBy: string | undefined;
  const differences = await verifyWithProgress(sasUrl, {
    json: opts.json,
    keys,
    onSigned: (kid) => {
      signedBy = kid;
    },
  });
  const signature = !keys ? 'unchecked' : signedBy ? 'valid' : 'invalid';
  if (opts.json) process.stdout.write(`${JSON.stringify({ ok: differences.length === 0, signature, signedBy, differences }, null, 2)}\n`);
  if (differences.length > 0) {
    if (!opts.json) for (const d of differences) process.stdout.write(`  ${describeDifference(d)}\n`);
    throw new CliError(`the package does not match its manifest (${differences.length} difference(s))`);
  }
  if (opts.json) return;
  process.stdout.write(
    keys
      ? `package verified: every file matches manifest.json, signed by the service (key ${signedBy})\n`
      : 'package verified: every file matches manifest.json; its signature was NOT checked (pass --server <url> or --key <file>)\n',
  );
}
