// The claim statement's cost against the size of the queue: ms per claimOperations call with a
// backlog of BENCH_CLAIM_WAITING (200,5000) operations waiting, each claim rolled back so that
// every call sees the same backlog. Three shapes per size: one tenant holding the whole backlog
// (a drain), the backlog spread over one tenant per 10 operations (many tenants' turns to weigh),
// and one tenant's long queue submitted ahead of single exports from a tenth as many tenants
// (the case fairness is for: every tenant's first turn must be looked at). A history of BENCH_CLAIM_HISTORY (20000) ended operations sits in the same table, as it
// does in a service that has run for a while. No baseline: the figure is how the cost grows.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../src/db/pool.ts';
import { claimOperations } from '../src/db/queries/worker-operations.ts';
import { emit, type BenchRow } from './lib.ts';
import { Cleanup, openBenchEnvironment } from './export-support.ts';

const SIZES = (process.env.BENCH_CLAIM_WAITING ?? '200,5000').split(',').map(Number);
const HISTORY = Number(process.env.BENCH_CLAIM_HISTORY ?? 20_000);
const CLAIMS = Number(process.env.BENCH_CLAIM_CALLS ?? 200);
const log = (line: string) => process.stderr.write(`claim-cost: ${line}\n`);
const cleanup = new Cleanup();

/** `count` operations of `tenants` tenants (round robin), in one statement; `status` for all of them. */
async function insertOperations(q: Queryable, count: number, tenants: number, status: 'notStarted' | 'complete'): Promise<void> {
  const tenantIds = Array.from({ length: tenants }, () => randomUUID());
  await q.query(
    `insert into data_policy_operations (id, tenant_id, user_id, user_principal_name, storage_location, storage_container, status, requested_by,
                                         submitted_at, next_attempt_at, completed_at)
     select gen_random_uuid(), ($1::uuid[])[1 + i % $3], gen_random_uuid(), 'u@bench.test', 'https://a.blob.core.windows.net/c' || i || '?sig=x',
            'https://a.blob.core.windows.net/' || $4 || i, $2, '{}', now() - make_interval(secs => $5 - i), now() - make_interval(secs => $5 - i),
            case when $2 = 'complete' then now() end
     from generate_series(1, $5) as i`,
    [tenantIds, status, tenants, randomUUID().slice(0, 8), count],
  );
}

async function msPerClaim(q: Queryable): Promise<number> {
  // Warm the plan cache and the buffers first.
  for (let i = 0; i < 5; i++) await claimRolledBack(q);
  const started = performance.now();
  for (let i = 0; i < CLAIMS; i++) await claimRolledBack(q);
  return (performance.now() - started) / CLAIMS;
}

async function claimRolledBack(q: Queryable): Promise<void> {
  await q.query('begin');
  try {
    const rows = await claimOperations(q, 'bench-claim', 2, 30);
    if (rows.length !== 2) throw new Error(`claimed ${rows.length} operations, expected 2`);
  } finally {
    await q.query('rollback');
  }
}

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-claim-');
  const client = await env.db.connect();
  cleanup.add(() => client.release());
  await insertOperations(client, HISTORY, 50, 'complete');
  const rows: BenchRow[] = [];
  for (const waiting of SIZES) {
    const tenth = Math.max(1, Math.round(waiting / 10));
    for (const [shape, fill] of [
      ['one tenant', () => insertOperations(client, waiting, 1, 'notStarted')],
      ['a tenant per 10', () => insertOperations(client, waiting, tenth, 'notStarted')],
      [
        "one tenant's 90 % ahead of one each from others",
        async () => {
          await insertOperations(client, waiting - tenth, 1, 'notStarted');
          await insertOperations(client, tenth, tenth, 'notStarted');
        },
      ],
    ] as const) {
      await client.query(`delete from data_policy_operations where status <> 'complete'`);
      await fill();
      await client.query('analyze data_policy_operations');
      const ms = await msPerClaim(client);
      log(`${waiting} waiting (${shape}): ${ms.toFixed(2)} ms per claim`);
      rows.push({ figure: `claim of 2 with ${waiting} waiting, ${shape}`, value: ms, unit: 'ms per claim', note: `${HISTORY} ended operations in the table` });
    }
  }
  emit(rows);
} finally {
  await cleanup.run();
}
