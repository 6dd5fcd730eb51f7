import type { Queryable } from '../pool.ts';

/**
 * Where a planned file's bytes are: 'inline' (a small rendered file, bytes in export_files.body
 * until the operation ends), 'rendered' (a larger one, in the content store), 'content' (a drive
 * file in the content store).
 */
export type ExportFileSource = 'inline' | 'content' | 'rendered';

export interface NewExportFile {
  seq: number;
  path: string;
  size: number;
  sha256: string;
  contentType: string;
  source: ExportFileSource;
  /** Inline files only. */
  body: Buffer | null;
}

/** A planned file without its body (inline bodies are read one at a time, when uploaded). */
export interface ExportFileRow {
  operation_id: string;
  seq: number;
  path: string;
  size: number;
  sha256: string;
  content_type: string;
  source: ExportFileSource;
  done: boolean;
}

/**
 * Appends a batch of planned files while the plan is being rendered, fenced: only while the lease
 * is ours and the plan not fixed yet. The rows go as one JSON document (one statement for a
 * batch of hundreds). A file an earlier render of this operation already uploaded (set aside by
 * setAsideFinishedExportFiles) takes its row back, still done when its bytes are the same. False
 * means the lease is no longer ours.
 */
export async function insertExportFiles(q: Queryable, operationId: string, token: string, files: readonly NewExportFile[]): Promise<boolean> {
  if (files.length === 0) return true;
  // Inline bodies go as binary parameters joined by path: inside the JSON they would go through
  // base64 and jsonb parsing.
  const inline = files.filter((f): f is NewExportFile & { body: Buffer } => f.body !== null);
  const bodies =
    inline.length === 0
      ? 'select null::text, null::bytea where false'
      : `values ${inline.map((_, i) => `($${2 * i + 4}::text, $${2 * i + 5}::bytea)`).join(', ')}`;
  const { rowCount } = await q.query(
    `insert into export_files (operation_id, seq, path, size, sha256, content_type, source, body)
     select $1, f.seq, f.path, f.size, f.sha256, f.content_type, f.source, b.body
     from jsonb_to_recordset($3::jsonb) as f (seq int, path text, size bigint, sha256 text, content_type text, source text)
     left join (${bodies}) as b (path, body) on b.path = f.path
     where exists (select 1 from data_policy_operations o
                   where o.id = $1 and o.lease_token = $2 and o.status = 'running' and o.bytes_planned is null)
     on conflict (operation_id, path) do update
       set seq = excluded.seq, size = excluded.size, sha256 = excluded.sha256, content_type = excluded.content_type,
           source = excluded.source, body = excluded.body,
           done = export_files.sha256 = excluded.sha256 and export_files.size = excluded.size,
           done_at = case when export_files.sha256 = excluded.sha256 and export_files.size = excluded.size then export_files.done_at end
       where export_files.seq < 0`,
    [
      operationId,
      token,
      JSON.stringify(
        files.map((f) => ({
          seq: f.seq,
          path: f.path,
          size: f.size,
          sha256: f.sha256,
          content_type: f.contentType,
          source: f.source,
        })),
      ),
      ...inline.flatMap((f) => [f.path, f.body]),
    ],
  );
  return rowCount === files.length;
}

/**
 * What an attempt that died while rendering left of an unfixed plan and did not upload (fenced
 * like the inserts).
 */
export async function deleteUnfinishedExportFiles(q: Queryable, operationId: string, token: string): Promise<void> {
  await q.query(
    `delete from export_files f using data_policy_operations o
     where f.operation_id = $1 and not f.done
       and o.id = $1 and o.lease_token = $2 and o.status = 'running' and o.bytes_planned is null`,
    [operationId, token],
  );
}

/**
 * The files an attempt that died while rendering had already uploaded (drive files go while the
 * plan renders) move out of the plan's order, to negative seqs: the next render takes each row
 * back when it plans the same path (insertExportFiles), still done if the bytes are the same.
 */
export async function setAsideFinishedExportFiles(q: Queryable, operationId: string, token: string): Promise<void> {
  await q.query(
    `with lowest as (select least(coalesce(min(seq), 0), 0) as m from export_files where operation_id = $1),
          kept as (select path, row_number() over (order by seq) as n from export_files where operation_id = $1 and seq >= 0)
     update export_files f set seq = lowest.m - kept.n
     from lowest, kept, data_policy_operations o
     where f.operation_id = $1 and f.path = kept.path
       and o.id = $1 and o.lease_token = $2 and o.status = 'running' and o.bytes_planned is null`,
    [operationId, token],
  );
}

/** Once a render is complete: what it did not plan again is no part of the package. */
export async function deleteSetAsideExportFiles(q: Queryable, operationId: string, token: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `with ours as (select 1 from data_policy_operations o
                   where o.id = $1 and o.lease_token = $2 and o.status = 'running' and o.bytes_planned is null),
          gone as (delete from export_files f where f.operation_id = $1 and f.seq < 0 and exists (select 1 from ours) returning 1)
     select 1 from ours`,
    [operationId, token],
  );
  return rowCount === 1;
}

/** One keyset page of the plan in upload order, after `afterSeq`; `pendingOnly` skips finished files. */
export async function selectExportFilesPage(
  q: Queryable,
  operationId: string,
  afterSeq: number,
  limit: number,
  pendingOnly: boolean,
): Promise<ExportFileRow[]> {
  const { rows } = await q.query<ExportFileRow>(
    `select operation_id, seq, path, size, sha256, content_type, source, done
     from export_files where operation_id = $1 and seq > $2 and (not $4 or not done)
     order by seq limit $3`,
    [operationId, afterSeq, limit, pendingOnly],
  );
  return rows;
}

/** A fixed plan at a glance: its totals, and the rows of the file written first and of the one written last. */
export interface ExportPlanHead {
  files: number;
  bytes: number;
  bytesDone: number;
  first: ExportFileRow | null;
  last: ExportFileRow | null;
}

/** What a run needs of a fixed plan before it uploads, in one round trip. */
export async function selectExportPlanHead(q: Queryable, operationId: string, firstPath: string, lastPath: string): Promise<ExportPlanHead> {
  const row = (path: string) =>
    `(select to_jsonb(f) from (select operation_id, seq, path, size, sha256, content_type, source, done
                               from export_files where operation_id = $1 and path = ${path}) f)`;
  const { rows } = await q.query<ExportPlanHead>(
    `select count(*)::int as files, coalesce(sum(size), 0)::bigint as bytes,
            coalesce(sum(size) filter (where done), 0)::bigint as "bytesDone",
            ${row('$2')} as first, ${row('$3')} as last
     from export_files where operation_id = $1`,
    [operationId, firstPath, lastPath],
  );
  return rows[0]!;
}

export async function selectExportFileByPath(q: Queryable, operationId: string, path: string): Promise<ExportFileRow | undefined> {
  const { rows } = await q.query<ExportFileRow>(
    `select operation_id, seq, path, size, sha256, content_type, source, done
     from export_files where operation_id = $1 and path = $2`,
    [operationId, path],
  );
  return rows[0];
}

export async function selectExportFileBody(q: Queryable, operationId: string, path: string): Promise<Buffer | undefined> {
  const { rows } = await q.query<{ body: Buffer | null }>('select body from export_files where operation_id = $1 and path = $2', [operationId, path]);
  return rows[0]?.body ?? undefined;
}

/**
 * The checkpoint of RequestInfo.json, which also records that the container is used from now on
 * (request_info_written) and the export's first progress (as updateProgress: never backwards), in
 * one statement, fenced by the lease: false means it is no longer ours.
 */
export async function markRequestInfoDone(
  q: Queryable,
  operationId: string,
  token: string,
  path: string,
  progress: { written: number; percent: number },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `with op as (
       update data_policy_operations
       set request_info_written = true, bytes_written = greatest(bytes_written, $4), progress = greatest(progress, least($5, 99.9))
       where id = $1 and lease_token = $2 and status = 'running'
       returning id
     )
     update export_files f set done = true, done_at = now()
     from op
     where f.operation_id = op.id and f.path = $3`,
    [operationId, token, path, progress.written, progress.percent],
  );
  return rowCount === 1;
}

/**
 * Checkpoints of a batch of finished files in one statement (one round trip and one commit for up
 * to ~50 files instead of 50), fenced by the lease like every other write. The join on the
 * operation makes it all or nothing: every path (all are in the plan) or, when the lease is no
 * longer ours, none; false means the lease is lost.
 */
export async function markExportFilesDone(q: Queryable, operationId: string, token: string, paths: readonly string[]): Promise<boolean> {
  if (paths.length === 0) return true;
  const { rowCount } = await q.query({
    // Prepared: a package of small files runs it every ~50 files.
    name: 'mark-export-files-done',
    text: `update export_files f set done = true, done_at = now()
           from data_policy_operations o
           where f.operation_id = $1 and f.path = any($3::text[])
             and o.id = f.operation_id and o.lease_token = $2 and o.status = 'running'`,
    values: [operationId, token, paths],
  });
  return rowCount === paths.length;
}

/** Once an operation has ended, an old plan's inline bytes are no longer needed (the rows stay as its record). */
export async function clearExportFileBodies(q: Queryable, operationId: string): Promise<void> {
  await q.query('update export_files set body = null where operation_id = $1 and body is not null', [operationId]);
}

/**
 * Pins content against garbage collection for an export; pins only what still exists and returns
 * how many of the distinct `sha256s` exist (already pinned ones included), so a caller can tell
 * that content vanished since the snapshot.
 */
export async function insertContentPins(q: Queryable, operationId: string, sha256s: readonly string[]): Promise<number> {
  const { rowCount } = await q.query(
    `insert into content_pins (sha256, operation_id)
     select b.sha256, $1 from content_blobs b where b.sha256 = any($2::text[])
     on conflict (sha256, operation_id) do update set sha256 = excluded.sha256`,
    [operationId, sha256s],
  );
  return rowCount ?? 0;
}

export async function deleteContentPins(q: Queryable, operationId: string): Promise<void> {
  await q.query('delete from content_pins where operation_id = $1', [operationId]);
}
