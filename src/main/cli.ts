import { Command, Option } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import type { ApiClient } from '../cli/api-client.ts';
import type { ApiOptions } from '../cli/connect-api.ts';
import { CliError, reportFailure } from '../cli/fail.ts';
import { registerCaseCommands } from '../cli/register-cases.ts';
import { registerSubscriptionCommands } from '../cli/subscriptions-command.ts';
import { untilSignal } from '../cli/until-signal.ts';

// Only the wiring: each command's body is its own src/cli/<name>-command.ts, imported when the
// command runs. The storage SDK, Fastify and the database driver together take seconds to load,
// which `--help`, `token` or `status` need not pay.
const exportCommand = () => import('../cli/export-command.ts');
const tokenCommand = () => import('../cli/token-command.ts');

const program = new Command();
program
  .name('dsr-export')
  .description('Microsoft-Graph-compatible data subject request export service')
  .option('--data-dir <dir>', 'data folder (DSR_DATA_DIR, default ./data)')
  .option('--database-url <url>', 'external PostgreSQL (DSR_DATABASE_URL); unset = embedded')
  .option('--verbose', 'print stack traces on failure')
  .showHelpAfterError();

function config(extra: Record<string, string | undefined> = {}): Config {
  const g = program.opts<{ dataDir?: string; databaseUrl?: string }>();
  const overrides = Object.fromEntries(
    Object.entries({
      DSR_DATA_DIR: g.dataDir,
      DSR_DATABASE_URL: g.databaseUrl,
      ...extra,
    }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  return loadConfig(process.env, overrides);
}

/** Runs an action; any failure becomes one line on stderr and exit code 1. */
function run<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      process.exitCode = reportFailure(err, Boolean(program.opts().verbose));
    }
  };
}

program
  .command('serve')
  .description('run the API and, unless --no-worker, an export worker')
  .option('--no-worker', 'API only; run workers with `dsr-export worker`')
  .option('--host <host>', 'listen address (DSR_HOST)')
  .option('--port <port>', 'listen port, 0 = a free one (DSR_PORT)')
  .action(
    run(async (opts: { worker: boolean; host?: string; port?: string }) => {
      const { runServe } = await import('../cli/serve-command.ts');
      await runServe(config({ DSR_HOST: opts.host, DSR_PORT: opts.port }), { withWorker: opts.worker });
    }),
  );

program
  .command('worker')
  .description('run an export worker only (any number, on any machines, sharing one PostgreSQL)')
  .option('--port <port>', 'serve /healthz, /readyz and /metrics on this port, 0 = a free one (DSR_WORKER_PORT)')
  .option('--host <host>', 'listen address for those (DSR_HOST)')
  .action(
    run(async (opts: { host?: string; port?: string }) => {
      const { runWorkerCommand } = await import('../cli/worker-command.ts');
      await runWorkerCommand(config({ DSR_HOST: opts.host, DSR_WORKER_PORT: opts.port }));
    }),
  );

program
  .command('seed')
  .description('build a deterministic synthetic tenant: users, drives, 90 days of activity and sign-ins')
  .option('--users <n>', 'users', '5')
  .option('--files <m>', 'files per user (past 10,000: small text files, streamed in)', '20')
  .option('--sign-ins <n>', 'extra sign-ins of the first user, the heavy subject (streamed in with COPY)', '0')
  .option('--drive-events <n>', 'extra drive activity records of the first user', '0')
  .option('--drive-items <n>', 'extra drive items of the first user (files sharing a few bodies, 1,000 per folder)', '0')
  .option('--seed <s>', 'the same seed gives the same data', '1')
  .option('--tenant <guid>', 'tenant id (default: derived from the seed)')
  .option('--json', 'print the summary as JSON')
  .action(
    run(async (flags: import('../cli/seed-command.ts').SeedFlags) => {
      const { seedCommand, seedOptions } = await import('../cli/seed-command.ts');
      const opts = seedOptions(flags);
      await seedCommand(config(), opts);
    }),
  );

program
  .command('import-activity <file>')
  .description('load sign-ins (Graph signIn JSON lines) into a tenant; a file with any bad line loads nothing')
  .requiredOption('--tenant <guid>', 'tenant the records belong to')
  .option('--skip-invalid', 'load the good lines and report the bad ones')
  .option('--json', 'print the summary as JSON')
  .action(
    run(async (file: string, opts: { tenant: string; skipInvalid?: boolean; json?: boolean }) => {
      const { importActivityCommand } = await import('../cli/import-activity-command.ts');
      await importActivityCommand(config(), file, { tenant: opts.tenant, skipInvalid: Boolean(opts.skipInvalid), json: Boolean(opts.json) });
    }),
  );

program
  .command('verify <sas-url>')
  .description(
    "check a package against its manifest: every file present, same size and SHA-256, nothing extra; and the manifest's signature, given the service's keys",
  )
  .option('--server <url>', 'check manifest.json.jws against the keys at <url>/.well-known/jwks.json')
  .option('--key <file>', 'check manifest.json.jws against a JWKS or JWK file')
  .option('--json', 'print the differences as JSON')
  .action(
    run(async (sasUrl: string, opts: { json?: boolean; server?: string; key?: string }) => {
      const { runVerify } = await import('../cli/verify-command.ts');
      await runVerify(sasUrl, opts);
    }),
  );

program
  .command('migrate')
  .description('apply database migrations (serve and worker also do this at start)')
  .action(
    run(async () => {
      const { runMigrate } = await import('../cli/migrate-command.ts');
      await runMigrate(config());
    }),
  );

program
  .command('token')
  .description('mint a local-issuer access token (printed alone on stdout)')
  .requiredOption('--tenant <guid>', 'tenant id (tid)')
  .option('--app <id>', 'application token for this app id')
  .option('--roles <list>', 'application permissions, comma-separated (with --app)')
  .option('--user <upn or id>', 'delegated token for this user')
  .option('--scopes <list>', 'delegated permissions, comma-separated (with --user)')
  .option('--admin', 'the user is a Global Administrator (wids)')
  .addOption(new Option('--expires-in <seconds>', 'lifetime').default('3600'))
  .action(
    run(async (opts: import('../cli/token-command.ts').TokenOptions) => {
      const { mintToken } = await tokenCommand();
      process.stdout.write(`${await mintToken(config(), opts)}\n`);
    }),
  );

program
  .command('console-link')
  .description('print a one-time sign-in link to the privacy console (/console); it works once, within minutes')
  .requiredOption('--user <upn>', 'the directory user who signs in')
  .option('--tenant <guid>', "the user's tenant (needed when the UPN is in several, or --user is an object id)")
  .option('--admin', 'sign in with the administrator role (needed for the tenant-wide case routes)')
  .option('--server <url>', "the service's address in the link (default DSR_PUBLIC_URL or http://DSR_HOST:DSR_PORT)")
  .action(
    run(async (opts: import('../cli/console-link-command.ts').ConsoleLinkOptions) => {
      const { runConsoleLink } = await import('../cli/console-link-command.ts');
      await runConsoleLink(config(), opts);
    }),
  );

/** The client for a command that talks to a running server (src/cli/connect-api.ts). */
async function apiFor(opts: ApiOptions, roles = 'User.Export.All,User.Read.All'): Promise<ApiClient> {
  const { connectApi } = await import('../cli/connect-api.ts');
  return connectApi(config(), opts, roles);
}

function clientOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'the dsr-export API (default DSR_PUBLIC_URL or http://DSR_HOST:DSR_PORT)')
    .option('--token <jwt>', 'access token (default DSR_TOKEN)')
    .option('--tenant <guid>', 'without --token: mint a local-issuer token for this tenant')
    .option('--json', 'print the operation as JSON');
}

clientOptions(program.command('export <user>'))
  .description('request an export of a user (object id or UPN) into a container, and follow it to the end')
  .requiredOption('--to <sas-url>', 'SAS URL of an empty container (create + write permissions)')
  .option('--no-wait', 'print the operation URL and return at once')
  .option('--notify <url>', 'subscribe this webhook to the changes of the operation (docs/notifications.md)')
  .action(
    run(async (user: string, opts: ApiOptions & { to: string; json?: boolean; wait: boolean; notify?: string }) => {
      const api = await apiFor(opts);
      const { runExport } = await exportCommand();
      await runExport(api, user, opts);
    }),
  );

clientOptions(program.command('status <operationId>'))
  .description('show one export operation')
  .action(
    run(async (id: string, opts: ApiOptions & { json?: boolean }) => {
      const api = await apiFor(opts);
      const { showStatus } = await exportCommand();
      await showStatus(api, id, Boolean(opts.json));
    }),
  );

registerCaseCommands(program, { run, apiFor, clientOptions });
registerSubscriptionCommands(program, { run, apiFor, clientOptions });

program
  .command('demo')
  .description('the whole path on the embedded default: PostgreSQL, Azurite, seed, export, verify, summary')
  .option('--keep', 'leave everything running and print the URLs, a token and a curl command')
  .option('--users <n>', 'users to seed', '3')
  .option('--files <m>', 'files per user', '15')
  .action(
    run(async (opts: { keep?: boolean; users: string; files: string }) => {
      const { runDemo } = await import('../cli/demo-command.ts');
      await runDemo({ keep: Boolean(opts.keep), users: Number(opts.users), files: Number(opts.files), untilStopped: untilSignal });
    }),
  );

program.parseAsync(process.argv).then(
  // Exit explicitly: a command is over when its action settles; idle keep-alive sockets of the
  // storage SDK or fetch must not hold the process open.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => process.exit(reportFailure(err instanceof Error ? err : new CliError(String(err)), Boolean(program.opts().verbose))),
);
