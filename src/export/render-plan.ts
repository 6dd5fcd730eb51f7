import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type pg from 'pg';
import type { ContentStore } from '../content/content-store.ts';
import type { Db } from '../db/pool.ts';
import { touchContentBlob } from '../db/queries/content-blobs.ts';
import {
  deleteSetAsideExportFiles,
  deleteUnfinishedExportFiles,
  insertContentPins,
  setAsideFinishedExportFiles,
  insertExportFiles,
  selectExportFilesPage,
  type NewExportFile,
} from '../db/queries/export-files.ts';
import { createDrivePlacementTable, emptyDrivePlacementTable, selectExportUser } from '../db/queries/worker-sources.ts';
import type { UserRow } from '../domain/user.ts';
import type { PackageSigner } from './package-signature.ts';
import { redactSecrets } from '../logger.ts';
import { redactsOtherActors } from './sections/redaction.ts';
import { joinSnapshot, SnapshotCopies } from './snapshot-connection.ts';
import type { CopiedFile, PlanEntry, RenderContext, Section, SectionResult, SnapshotOperation } from './sections/section.ts';

/** Pieces are gathered into writes of about this size (one row of a section is ~0.2–2 KiB). */
const WRITE_CHUNK = 64 * 1024;
/**
 * A rendered file up to this size stays in its plan row (export_files.body), as metadata always
 * did: a user's profile, a few hundred sign-ins, the index page. Anything larger streams into the
 * content store, so no row and no buffer ever holds a large section, and small exports keep
 * working when the content store's disk is full.
 */
const INLINE_LIMIT = 1024 * 1024;
/** Plan rows and pins go to the database in batches of this many. */
const PLAN_BATCH = 500;
/** The first drive files are committed after this many, so that their uploads start at once. */
const FIRST_CONTENT_BATCH = 50;

/** Some planned drive content was deleted after the snapshot was read: render again. */
export class PinShortfall extends Error {
  constructor() {
    super('planned content disappeared from the content store');
    this.name = 'PinShortfall';
  }
}

/** The subject is gone from the snapshot (deleted after the request). */
export class SubjectMissing extends Error {
  constructor() {
    super('user not found');
    this.name = 'SubjectMissing';
  }
}

export interface RenderDeps {
  readonly db: Db;
  readonly store: ContentStore;
  readonly token: string;
  readonly signal: AbortSignal;
  /** The error a fenced write that found the lease gone throws. */
  readonly leaseLost: () => Error;
  readonly signer: PackageSigner;
  /**
   * Rows up to this seq, of `bytes` planned so far, are committed (after every batch and every
   * section): lanes may read them. `content`: the batch held drive files (source 'content').
   */
  readonly onFlush?: (lastSeq: number, bytes: number, content: boolean) => void;
  /** Where the small files' bytes go as they are rendered (the caller uploads from it meanwhile). */
  readonly inline?: Map<string, Buffer>;
  /**
   * An earlier render of this operation may have uploaded files (it claimed the container): they
   * are set aside and taken back, not deleted. Without it, what an earlier render left is deleted.
   */
  readonly uploadedBefore?: boolean;
}

export interface RenderedPlan {
  readonly files: number;
  readonly bytes: number;
  /** The small files' bytes by path, for the upload that follows in the same run. */
  readonly inline: ReadonlyMap<string, Buffer>;
  readonly inlineBytes: number;
}

/** Pieces → buffers of ~64 KiB, each piece scrubbed of secrets, stopping at once on abort. */
async function* chunked(pieces: AsyncIterable<string> | Iterable<string>, signal: AbortSignal): AsyncGenerator<Buffer> {
  let parts: string[] = [];
  let length = 0;
  for await (const piece of pieces) {
    signal.throwIfAborted();
    // Belt and braces (no secret in a package): whatever an import or a free-text field carried,
    // SAS signatures, bearer tokens and account keys are scrubbed.
    const text = redactSecrets(piece);
    parts.push(text);
    length += text.length;
    if (length >= WRITE_CHUNK) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      length = 0;
    }
  }
  if (parts.length > 0) yield Buffer.from(parts.join(''), 'utf8');
}

/**
 * Renders the whole plan of a package: runs every section inside one REPEATABLE READ snapshot
 * (one connection, read only), streams each rendered file into the content store (hashed as it
 * is written, pinned for the export), and appends the plan to export_files in batches, fenced by
 * the lease, committed after every batch and after the first section and the drive's files (`onFlush`
 * says how far, so those can be uploaded meanwhile). Memory holds a batch of plan rows and a chunk of output, never
 * a section. Of what a crashed attempt left of an unfixed plan, the files it had uploaded are set
 * aside (the rows this render plans again with the same bytes stay done) and the rest deleted;
 * `instant` then gives the snapshot's instant as the package states it. The caller fixes the
 * plan (bytes_planned) once this returns, and from then on nothing is rendered again.
 */
export async function renderPlan(
  deps: RenderDeps,
  operation: SnapshotOperation,
  sections: readonly Section[],
  instant: () => Promise<Date>,
  maxPathLength: number,
): Promise<RenderedPlan> {
  const { db, store, token, signal } = deps;
  const opId = operation.id;
  await deleteUnfinishedExportFiles(db, opId, token);
  if (deps.uploadedBefore) await setAsideFinishedExportFiles(db, opId, token);
  const now = await instant();

  let seq = 0;
  let pending: NewExportFile[] = [];
  let pendingPins = new Set<string>();
  const totals = { files: 0, bytes: 0 };
  const fenced = (ok: boolean) => {
    if (!ok) throw deps.leaseLost();
  };
  const flushPins = async () => {
    if (pendingPins.size === 0) return;
    const shas = [...pendingPins];
    pendingPins = new Set();
    if ((await insertContentPins(db, opId, shas)) < shas.length) throw new PinShortfall();
  };
  let contentFlushed = false;
  const flushPlan = async () => {
    await flushPins();
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    pendingInlineBytes = 0;
    fenced(await insertExportFiles(db, opId, token, batch));
    const content = batch.some((f) => f.source === 'content');
    contentFlushed ||= content;
    deps.onFlush?.(batch[batch.length - 1]!.seq, totals.bytes, content);
  };
  // Small bodies stay in memory for the upload (a dozen files of at most 1 MiB).
  const inline = deps.inline ?? new Map<string, Buffer>();
  let inlineBytes = 0;
  let pendingInlineBytes = 0;
  const append = async (entry: PlanEntry, body: Buffer | null = null) => {
    pending.push({ seq: seq++, path: entry.path, size: entry.size, sha256: entry.sha256, contentType: entry.contentType, source: entry.source, body });
    totals.files++;
    totals.bytes += entry.size;
    pendingInlineBytes += body?.length ?? 0;
    const firstContent = !contentFlushed && entry.source === 'content' && pending.length >= FIRST_CONTENT_BATCH;
    if (pending.length >= PLAN_BATCH || pendingInlineBytes >= INLINE_LIMIT || firstContent) await flushPlan();
  };

  // A file's bytes into the store (or kept inline when small), hashed and pinned; the plan row
  // is appended apart (appendStored), so files written side by side keep their order in the plan.
  const storeFile = async (path: string, contentType: string, pieces: AsyncIterable<string> | Iterable<string>, stop: AbortSignal) => {
    const chunks = chunked(pieces, stop);
    const head: Buffer[] = [];
    let headBytes = 0;
    let rest = await chunks.next();
    for (; !rest.done && headBytes <= INLINE_LIMIT; rest = await chunks.next()) {
      head.push(rest.value);
      headBytes += rest.value.length;
    }
    if (rest.done) {
      const body = Buffer.concat(head);
      const entry: PlanEntry = { path, contentType, size: body.length, sha256: createHash('sha256').update(body).digest('hex'), source: 'inline' };
      inline.set(path, body);
      inlineBytes += body.length;
      return { entry, body };
    }
    const first = rest.value;
    const stored = await store.put(
      Readable.from(
        (async function* () {
          yield* head;
          yield first;
          yield* chunks;
        })(),
      ),
    );
    // Recorded and pinned at once (each its own commit): the garbage collector leaves a
    // recorded blob alone for its grace period, and a pinned one until the export ends.
    await touchContentBlob(db, stored, new Date());
    if ((await insertContentPins(db, opId, [stored.sha256])) < 1) throw new PinShortfall();
    const entry: PlanEntry = { path, contentType, size: stored.size, sha256: stored.sha256, source: 'rendered' };
    return { entry, body: null };
  };
  const appendStored = async (file: { entry: PlanEntry; body: Buffer | null }) => {
    await append(file.entry, file.body);
    return file.entry;
  };

  const client = await db.connect();
  // The snapshot client sits checked out while files upload between its queries; a server
  // that goes away then must fail the next query (a retryable outage), not emit an 'error'
  // nobody listens to, which would end the worker process.
  let lost: Error | undefined;
  const onClientError = (err: Error) => {
    lost = err;
  };
  client.on('error', onClientError);
  let abandoned: Error | undefined;
  const copies = new SnapshotCopies(client);
  // The second connection to the snapshot, opened by the first section that asks for it.
  let second: Promise<{ client: pg.Client; copies: SnapshotCopies }> | undefined;
  const secondConnection = () =>
    (second ??= (async () => {
      const { rows } = await client.query<{ id: string }>('select pg_export_snapshot() as id');
      const joined = await joinSnapshot(db, rows[0]!.id);
      return { client: joined, copies: new SnapshotCopies(joined) };
    })());
  try {
    await createDrivePlacementTable(client);
    await client.query('begin isolation level repeatable read read only');
    const user: UserRow | undefined = await selectExportUser(client, operation.tenantId, operation.userId);
    if (!user) throw new SubjectMissing();
    const earlier: SectionResult[] = [];
    const ctx: RenderContext = {
      q: client,
      operation: { ...operation, userPrincipalName: user.user_principal_name },
      user,
      now,
      redactsOtherActors: await redactsOtherActors(client, operation.tenantId),
      maxPathLength,
      earlier,
      plannedTotals: totals,
      signer: deps.signer,
      async *readBack(entry) {
        const body = inline.get(entry.path);
        if (body) yield body;
        else yield* (await store.get(entry.sha256)) as AsyncIterable<Buffer>;
      },
      async writeFile(path, contentType, pieces) {
        return appendStored(await storeFile(path, contentType, pieces, signal));
      },
      async writeCopiedFiles(files, { sideBySide }) {
        const storeCopied = (f: CopiedFile, lane: SnapshotCopies, stop: AbortSignal) =>
          storeFile(
            f.path,
            f.contentType,
            f.pieces((sql) => lane.copyOut(sql)),
            stop,
          );
        const entries: PlanEntry[] = [];
        if (!sideBySide) {
          for (const f of files) entries.push(await appendStored(await storeCopied(f, copies, signal)));
          return entries;
        }
        const lanes = [copies, (await secondConnection()).copies];
        // One file failing stops the other at its next piece; the first error is the one thrown.
        const together = new AbortController();
        const stop = AbortSignal.any([signal, together.signal]);
        const stored = await Promise.allSettled(
          files.map((f, i) =>
            storeCopied(f, lanes[i % lanes.length]!, stop).catch((err: unknown) => {
              together.abort(err);
              throw err;
            }),
          ),
        );
        for (const r of stored) {
          if (r.status === 'rejected') throw r.reason;
          entries.push(await appendStored(r.value));
        }
        return entries;
      },
      async addContent(entry) {
        pendingPins.add(entry.sha256);
        await append({ ...entry, source: 'content' });
      },
      async *planned() {
        await flushPlan();
        for (let after = -1; ;) {
          const page = await selectExportFilesPage(db, opId, after, 1000, false);
          for (const f of page) {
            yield { path: f.path, contentType: f.content_type, size: f.size, sha256: f.sha256, source: f.source };
          }
          if (page.length < 1000) return;
          after = page[page.length - 1]!.seq;
        }
      },
    };
    for (const section of sections) {
      signal.throwIfAborted();
      earlier.push(await section.render(ctx));
      // Committed now what the lanes upload meanwhile (RequestInfo.json, the drive's files); the
      // rest waits for a full batch, a commit each being a cost every small export pays.
      if (seq === pending.length || pending.some((f) => f.source === 'content')) await flushPlan();
    }
    await flushPlan();
    if (deps.uploadedBefore) fenced(await deleteSetAsideExportFiles(db, opId, token));
    await client.query('commit');
    return { ...totals, inline, inlineBytes };
  } catch (err) {
    // A COPY that its section stopped reading would hold the connection until its last row (a
    // large section: seconds to minutes, an abort or a shutdown waiting as long) before the
    // rollback could run: the connection is closed instead, which ends the COPY and the snapshot.
    if (copies.abandon()) abandoned = new Error('render stopped during a COPY');
    else await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    // Read only: ending the connection ends its transaction.
    const joined = await second?.catch(() => undefined);
    joined?.copies.abandon();
    await joined?.client.end().catch(() => undefined);
    if (!abandoned) {
      await emptyDrivePlacementTable(client).catch(() => undefined);
      client.removeListener('error', onClientError);
    }
    // A client whose server went away, or that was left inside a COPY, is destroyed rather than
    // handed to the next query.
    client.release(lost ?? abandoned);
  }
}
