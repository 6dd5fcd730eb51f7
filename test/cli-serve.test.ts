import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { expect, test } from 'vitest';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../src/config.ts';
import { runCli, startCli } from './support/cli.ts';
import { tempDir } from './support/harness.ts';

test('token mints application and delegated tokens the served JWKS verifies; serve stops cleanly on SIGTERM', async () => {
  const dataDir = await tempDir('dsr-cli-');
  const env = { DSR_DATA_DIR: dataDir, DSR_PORT: '0', DSR_LOG_LEVEL: 'warn' };
  const { child, match } = await startCli(['serve', '--no-worker'], env, /listening on (http:\/\/\S+)/);
  const url = match[1]!;
  try {
    const tenant = randomUUID();
    const app = await runCli(['token', '--tenant', tenant, '--app', randomUUID(), '--roles', 'User.Export.All,User.ReadWrite.All'], env);
    expect(app.code, app.stderr).toBe(0);
    const token = app.stdout.trim();
    expect(token.split('.')).toHaveLength(3);

    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE });
    expect(payload).toMatchObject({ tid: tenant, idtyp: 'app', roles: ['User.Export.All', 'User.ReadWrite.All'] });

    const created = await fetch(`${url}/v1.0/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userPrincipalName: 'adele@contoso.com', displayName: 'Adele' }),
    });
    expect(created.status).toBe(201);
    const userId = ((await created.json()) as { id: string }).id;

    // A delegated token named by UPN carries the user's object id.
    const delegated = await runCli(['token', '--tenant', tenant, '--user', 'adele@contoso.com', '--scopes', 'User.Export.All', '--admin'], env);
    expect(delegated.code, delegated.stderr).toBe(0);
    const { payload: d } = await jwtVerify(delegated.stdout.trim(), createLocalJWKSet(jwks as never));
    expect(d).toMatchObject({ oid: userId, scp: 'User.Export.All', wids: ['62e90394-69f5-4237-9190-012177145e10'] });

    const bad = await runCli(['token', '--tenant', 'not-a-guid', '--app', randomUUID()], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^dsr-export: --tenant <guid> is required/);
    expect(bad.stderr).not.toMatch(/at .*\.ts/);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
  // The embedded server stopped with it: no live postmaster left behind.
  await expect(readFile(path.join(dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow();
});

test('serve with DSR_AUTH_LOCAL_ISSUER=false (the production setting) makes no local key, serves none, and refuses a local token', async () => {
  const dataDir = await tempDir('dsr-cli-nolocal-');
  const env = { DSR_DATA_DIR: dataDir, DSR_PORT: '0', DSR_LOG_LEVEL: 'warn', DSR_AUTH_LOCAL_ISSUER: 'false' };
  const { child, match } = await startCli(['serve', '--no-worker'], env, /listening on (http:\/\/\S+)/);
  const url = match[1]!;
  try {
    expect(existsSync(path.join(dataDir, 'keys', 'local-issuer.json'))).toBe(false);
    const refused = await runCli(['token', '--tenant', randomUUID(), '--app', randomUUID(), '--roles', 'User.Read.All'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/DSR_AUTH_LOCAL_ISSUER/);

    // A key made beside the server afterwards is still not trusted: the server never loaded one.
    const issuer = await loadLocalIssuer(dataDir);
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid?: string }[] };
    expect(jwks.keys.map((k) => k.kid)).not.toContain(issuer.jwks.keys[0]!.kid);
    const token = await issuer.sign(tokenClaims({ tenant: randomUUID(), app: { id: randomUUID(), roles: ['User.Read.All'] } }), 600);
    const res = await fetch(`${url}/v1.0/users`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
});
