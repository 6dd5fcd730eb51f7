import { SingleBar, Presets } from 'cli-progress';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiClient, retryAfterSeconds } from './api-client.ts';
import { CliError } from './fail.ts';

export interface OperationJson {
  id: string;
  status: 'notStarted' | 'running' | 'complete' | 'failed';
  progress: number;
  userId: string;
  storageLocation: string;
  submittedDateTime: string;
  completedDateTime: string | null;
  error?: { code: string; message: string };
}

export interface ExportOptions {
  json?: boolean;
  /** Seconds between status polls while the operation runs. */
  pollInterval?: number;
  /** How many 429/503 answers to sit out before giving up. */
  maxRetries?: number;
  out?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
}

/**
 * POSTs the export, sitting out 429/503 for as long as Retry-After says, and returns the
 * operation's URL (the 202's Location).
 */
export async function submitExport(api: ApiClient, user: string, storageLocation: string, maxRetries = 5): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const res = await api.request('POST', `/v1.0/users/${encodeURIComponent(user)}/exportPersonalData`, { storageLocation });
    if (res.status === 202) {
      const location = res.headers.get('location');
      if (!location) throw new CliError('the server accepted the export but sent no Location header');
      return location;
    }
    if ((res.status === 429 || res.status === 503) && attempt < maxRetries) {
      await delay(retryAfterSeconds(res, 5) * 1000);
      continue;
    }
    return ApiClient.fail(res, 'export request');
  }
}

export async function getOperation(api: ApiClient, url: string): Promise<OperationJson> {
  const res = await api.request('GET', url);
  if (!res.ok) return ApiClient.fail(res, 'status request');
  return (await res.json()) as OperationJson;
}

/**
 * Follows an operation until it is complete or failed: a progress bar with ETA on a terminal,
 * a plain line per change otherwise (logs, CI), nothing but the final JSON with --json.
 */
export async function followOperation(api: ApiClient, url: string, opts: ExportOptions = {}): Promise<OperationJson> {
  const out = opts.out ?? process.stderr;
  const interactive = Boolean(out.isTTY) && !opts.json;
  const bar = interactive
    ? new SingleBar(
        { format: 'export {bar} {percentage}% | {status} | ETA {eta_formatted}', hideCursor: true, stream: out as NodeJS.WriteStream },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(100, 0, { status: 'notStarted' });
  let last = '';
  try {
    for (;;) {
      const op = await getOperation(api, url);
      bar?.update(op.progress, { status: op.status });
      const line = `${op.status} ${op.progress.toFixed(1)}%`;
      if (!interactive && !opts.json && line !== last) out.write(`${line}\n`);
      last = line;
      if (op.status === 'complete' || op.status === 'failed') return op;
      await delay((opts.pollInterval ?? 1) * 1000);
    }
  } finally {
    bar?.stop();
  }
}

/** `dsr-export export`: submit, optionally subscribe a webhook, then follow to the end unless `wait` is false. */
export async function runExport(
  api: ApiClient,
  user: string,
  opts: { to: string; json?: boolean | undefined; wait: boolean; notify?: string | undefined },
): Promise<void> {
  const location = await submitExport(api, user, opts.to);
  if (opts.notify) await (await import('./subscriptions-command.ts')).subscribeToOperation(api, location, opts.notify);
  if (!opts.wait) {
    process.stdout.write(opts.json ? `${JSON.stringify({ location })}\n` : `${location}\n`);
    return;
  }
  if (!opts.json) process.stderr.write(`export accepted: ${location}\n`);
  const op = await followOperation(api, location, { json: opts.json });
  if (opts.json) process.stdout.write(`${JSON.stringify(op, null, 2)}\n`);
  if (op.status !== 'complete') {
    throw new CliError(
      `export ${op.id} failed: ${op.error?.code ?? 'unknown'}: ${op.error?.message ?? ''}`,
      'Fix the cause (see the code) and request a new export into an empty container.',
    );
  }
  if (!opts.json) process.stdout.write(`export ${op.id} complete at ${op.completedDateTime}; check it with: dsr-export verify '<sas-url>'\n`);
}

/** `dsr-export status`: one operation; exit code 1 when it failed. */
export async function showStatus(api: ApiClient, id: string, json: boolean): Promise<void> {
  const op = await getOperation(api, `/v1.0/dataPolicyOperations/${encodeURIComponent(id)}`);
  if (json) process.stdout.write(`${JSON.stringify(op, null, 2)}\n`);
  else {
    process.stdout.write(
      `${op.id} ${op.status} ${op.progress}% user ${op.userId} submitted ${op.submittedDateTime}` +
        `${op.completedDateTime ? ` completed ${op.completedDateTime}` : ''}${op.error ? ` error ${op.error.code}: ${op.error.message}` : ''}\n`,
    );
  }
  if (op.status === 'failed') process.exitCode = 1;
}
