import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import type { PackageSigner } from '../src/export/package-signature.ts';
import { renderPlan, type RenderDeps } from '../src/export/render-plan.ts';
import { copyTextLines } from '../src/export/sections/rendered-records.ts';
import type { CopiedFile, PlanEntry, RenderContext, Section } from '../src/export/sections/section.ts';
import { signInsSection } from '../src/export/sections/sign-ins.ts';
import { queueExport, seedUser, waitFor, type SeededUser } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

// The render's connections to the snapshot: the COPYs sections open on them, the second
// connection large sections write through (writeCopiedFiles), and what is left of either when a
// render stops half-way.

let db: Db;
let store: ReturnType<typeof createLocalContentStore>;
let subject: SeededUser;

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  store = createLocalContentStore(await tempDir('dsr-render-snapshot-'));
  subject = await seedUser(db, store, { files: [], signIns: 3, activities: 0 });
});

afterAll(async () => {
  await db?.end();
});

/** Renders `sections` for an operation of the subject, running under a lease of this render's. */
async function render(sections: Section[], signal = new AbortController().signal) {
  const op = await queueExport(db, subject, `http://127.0.0.1:10000/devstoreaccount1/c-${randomUUID()}?sv=2022-11-02&sig=x`);
  const token = randomUUID();
  await db.query(`update data_policy_operations set status = 'running', lease_token = $2, lease_expires_at = now() + interval '1 hour' where id = $1`, [
    op.id,
    token,
  ]);
  const deps: RenderDeps = { db, store, token, signal, leaseLost: () => new Error('lease lost'), signer: {} as PackageSigner };
  const operation = {
    id: op.id,
    tenantId: subject.tenantId,
    userId: subject.userId,
    userPrincipalName: 'subject@example.test',
    requestedBy: { kind: 'application' as const, appId: 'app', oid: 'app' },
    submittedAt: new Date(),
    storageContainer: 'http://127.0.0.1:10000/devstoreaccount1/c',
  };
  return renderPlan(deps, operation, sections, () => Promise.resolve(new Date()), 1024);
}

function section(render: (ctx: RenderContext) => Promise<unknown>): Section {
  return { name: 'Probe', tables: [], render: async (ctx) => (await render(ctx), { files: [] }) };
}

async function text(ctx: RenderContext, entry: PlanEntry): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of ctx.readBack(entry)) parts.push(b);
  return Buffer.concat(parts).toString('utf8');
}

/** Every connection of this database but the asking one that is not idle (a transaction or a query left open). */
async function busyConnections(): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`,
  );
  return rows[0]!.n;
}

test('both connections of writeCopiedFiles read the same snapshot, and the second one is closed afterwards', async () => {
  const count = `copy (select count(*) from sign_ins where user_id = '${subject.userId}') to stdout`;
  let seen: string[] = [];
  await render([
    section(async (ctx) => {
      // Committed after the snapshot was taken: neither connection may see it.
      await db.query(`insert into sign_ins (tenant_id, id, user_id, created_at, data) values ($1, $2, $3, now(), '{}')`, [
        subject.tenantId,
        randomUUID(),
        subject.userId,
      ]);
      const files = await ctx.writeCopiedFiles(
        ['A.txt', 'B.txt'].map((path): CopiedFile => ({ path, contentType: 'text/plain', pieces: (copyOut) => copyTextLines(copyOut(count)) })),
        { sideBySide: true },
      );
      expect(files.map((f) => f.path)).toEqual(['A.txt', 'B.txt']);
      seen = await Promise.all(files.map((f) => text(ctx, f)));
    }),
  ]);
  expect(seen).toEqual(['3\n', '3\n']);
  expect((await db.query(`select count(*)::int as n from sign_ins where user_id = $1`, [subject.userId])).rows[0]).toEqual({ n: 4 });
  await waitFor(async () => (await busyConnections()) === 0, { what: 'the render connections to be idle or closed' });
});

test('a file of writeCopiedFiles that fails stops the other, and neither connection is left inside its COPY or transaction', async () => {
  const failure = new Error('the store refused the file');
  const rendering = render([
    section((ctx) =>
      ctx.writeCopiedFiles(
        [
          // Large enough to be running still when the other fails.
          {
            path: 'Long.txt',
            contentType: 'text/plain',
            pieces: (copyOut) => copyTextLines(copyOut('copy (select g from generate_series(1, 2000000) g) to stdout')),
          },
          {
            path: 'Failing.txt',
            contentType: 'text/plain',
            async *pieces(copyOut) {
              copyOut('copy (select g from generate_series(1, 1000) g) to stdout');
              yield 'first line\n';
              throw failure;
            },
          },
        ],
        { sideBySide: true },
      ),
    ),
  ]);
  await expect(rendering).rejects.toBe(failure);
  await waitFor(async () => (await busyConnections()) === 0, { what: 'the render connections to be idle or closed' });
});

test('a render stopped while a COPY is open and unread rolls back and gives its connection back', async () => {
  // The upload side fails just as the sign-ins section opens its COPY: the section's file stops
  // at its first piece, before anything reads the COPY (the worker's failed-RequestInfo race).
  const stop = new AbortController();
  const failedUpload = new Error('RequestInfo.json: 403 from storage');
  const stalled: Section = {
    ...signInsSection,
    render: (ctx) => {
      stop.abort(failedUpload);
      return signInsSection.render(ctx);
    },
  };
  await expect(render([stalled], stop.signal)).rejects.toBe(failedUpload);
  await waitFor(async () => (await busyConnections()) === 0, { what: 'the render connection to be idle' });
});

test('a render stopped in the middle of a COPY that would run for minutes ends at once: the connection is closed, not read to the end', async () => {
  const failure = new Error('the store refused the file');
  const rendering = render([
    section((ctx) =>
      ctx.writeCopiedFiles(
        [
          {
            path: 'Endless.txt',
            contentType: 'text/plain',
            async *pieces(copyOut) {
              // A billion rows, streamed (a set-returning function in the select list is not
              // materialised first): read to its end, the rollback behind it would wait for minutes.
              for await (const piece of copyTextLines(copyOut('copy (select generate_series(1, 1000000000)) to stdout'))) {
                yield piece;
                throw failure;
              }
            },
          },
        ],
        { sideBySide: false },
      ),
    ),
  ]);
  await expect(rendering).rejects.toBe(failure);
  await waitFor(async () => (await busyConnections()) === 0, { what: 'the COPY to end with its connection' });
});
