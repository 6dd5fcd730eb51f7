import type { Readable } from 'node:stream';
import type { RecordText } from '../../db/queries/worker-record-texts.ts';
import { CONTENT_TYPES, csvLine } from '../../domain/package-plan.ts';
import { cell, PREVIEW_ROWS } from './records.ts';
import type { CopiedFile, PlanEntry, RenderContext, Section, SectionFile, SectionResult } from './section.ts';

/**
 * A record section whose files PostgreSQL renders line by line (worker-record-texts.ts): the
 * sections that grow to millions of rows. Each file is one `COPY … TO STDOUT` in the snapshot
 * whose bytes stream into the file as they come, in pieces of whole lines; only the preview's
 * first rows are read as records. Memory holds a piece of output, whatever the number of records.
 */
export interface RenderedRecordSectionSpec {
  readonly name: string;
  readonly tables: readonly string[];
  /** manifest.json's totals key (e.g. "signIns"). */
  readonly totalKey: string;
  /** The heading of the records in index.html ("Sign-ins"). */
  readonly title: string;
  readonly json: {
    readonly path: string;
    readonly context: string;
    /** The COPY whose lines are the value's records: four spaces, the record, a comma. */
    readonly copy: (ctx: RenderContext) => string;
    /** The first `n` records (index.html's preview). */
    readonly first: (ctx: RenderContext, n: number) => Promise<RecordText[]>;
    /** Whether there are at least `n` records. */
    readonly atLeast: (ctx: RenderContext, n: number) => Promise<boolean>;
  };
  /** The COPY whose lines are the CSV's rows after its header (each ending in CR, COPY adding the LF). */
  readonly csv: { readonly path: string; readonly columns: readonly string[]; readonly copy: (ctx: RenderContext) => string };
  /** index.html's preview: column titles and a record's cells. */
  readonly preview: { readonly columns: readonly string[]; readonly cells: (json: Record<string, unknown>) => readonly unknown[] };
}

/**
 * From this many records, a section's JSON and CSV are rendered side by side on two connections
 * (RenderContext.writeCopiedFiles); below it, the second connection would cost more than it saves.
 */
const SIDE_BY_SIDE_ROWS = 5000;

/** Pieces are gathered to about this many characters, whole lines each. */
const PIECE = 64 * 1024;
const TEXT_ESCAPES: Record<string, string> = { '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * COPY's text format as text: whole lines (a secret is never split between two pieces, see
 * RenderContext.writeFile), its escapes undone (COPY writes a backslash, CR, LF, tab and the other
 * C escapes of a value as backslash sequences). A line boundary is also a character boundary.
 */
export async function* copyTextLines(out: Readable): AsyncGenerator<string> {
  let rest: Buffer[] = [];
  let restBytes = 0;
  const text = (buf: Buffer) => {
    const s = buf.toString('utf8');
    return s.includes('\\') ? s.replace(/\\([\\bfnrtv])/g, (_, c: string) => TEXT_ESCAPES[c]!) : s;
  };
  // Stopped early, the COPY is not destroyed here: the render closes its connection (SnapshotCopies).
  const chunks = out.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
  for await (const chunk of chunks) {
    rest.push(chunk);
    restBytes += chunk.length;
    if (restBytes < PIECE) continue;
    const all = rest.length === 1 ? rest[0]! : Buffer.concat(rest, restBytes);
    const end = all.lastIndexOf(0x0a) + 1;
    if (end === 0) {
      rest = [all];
      continue;
    }
    yield text(all.subarray(0, end));
    rest = end < all.length ? [all.subarray(end)] : [];
    restBytes = all.length - end;
  }
  if (restBytes > 0) yield text(Buffer.concat(rest, restBytes));
}

/**
 * A JSON file in Graph's collection shape from its record lines (each "    record,\n"): the
 * same bytes graphCollection writes, the last record's comma dropped.
 */
async function* collectionFromLines(context: string, lines: AsyncIterable<string>): AsyncGenerator<string> {
  yield `{\n  "@odata.context": ${JSON.stringify(context)},\n  "value": [`;
  let held: string | undefined;
  for await (const piece of lines) {
    if (held === undefined) held = `\n${piece}`;
    else {
      yield held;
      held = piece;
    }
  }
  yield held === undefined ? ']\n}\n' : `${held.slice(0, -2)}\n  ]\n}\n`;
}

/** The section's two files when the snapshot holds none of its records: no COPY (two statements' planning) for an empty section. */
async function writeEmpty(ctx: RenderContext, spec: RenderedRecordSectionSpec): Promise<{ json: PlanEntry; csv: PlanEntry; count: number }> {
  const json = await ctx.writeFile(spec.json.path, CONTENT_TYPES.json, collectionFromLines(spec.json.context, (async function* () {})()));
  const csv = await ctx.writeFile(spec.csv.path, CONTENT_TYPES.csv, [csvLine(spec.csv.columns)]);
  return { json, csv, count: 0 };
}

/** The section's two files, each one COPY in the snapshot; `mayBeLarge`: the preview was full, so the size is probed. */
async function writeCopied(
  ctx: RenderContext,
  spec: RenderedRecordSectionSpec,
  mayBeLarge: boolean,
): Promise<{ json: PlanEntry; csv: PlanEntry; count: number }> {
  const jsonCopy = spec.json.copy(ctx);
  const csvCopy = spec.csv.copy(ctx);
  let records: (Readable & { rowCount: number }) | undefined;
  const rendered: CopiedFile[] = [
    {
      path: spec.json.path,
      contentType: CONTENT_TYPES.json,
      pieces(copyOut) {
        records = copyOut(jsonCopy) as Readable & { rowCount: number };
        return collectionFromLines(spec.json.context, copyTextLines(records));
      },
    },
    {
      path: spec.csv.path,
      contentType: CONTENT_TYPES.csv,
      async *pieces(copyOut) {
        yield csvLine(spec.csv.columns);
        yield* copyTextLines(copyOut(csvCopy));
      },
    },
  ];
  // The probe runs only when the preview is full, so a small subject pays no statement for it.
  const large = mayBeLarge && (await spec.json.atLeast(ctx, SIDE_BY_SIDE_ROWS));
  const [json, csv] = (await ctx.writeCopiedFiles(rendered, { sideBySide: large })) as [PlanEntry, PlanEntry];
  // Read once the files are written: the COPY's row count comes with its end.
  return { json, csv, count: records?.rowCount ?? 0 };
}

export function renderedRecordSection(spec: RenderedRecordSectionSpec): Section {
  return {
    name: spec.name,
    tables: spec.tables,
    async render(ctx: RenderContext): Promise<SectionResult> {
      const first = await spec.json.first(ctx, PREVIEW_ROWS);
      const rows = first.map((r) => spec.preview.cells(JSON.parse(r.json) as Record<string, unknown>).map(cell));
      const { json, csv, count } = first.length === 0 ? await writeEmpty(ctx, spec) : await writeCopied(ctx, spec, first.length === PREVIEW_ROWS);
      const files: SectionFile[] = [
        { path: json.path, title: `${spec.title} (JSON)`, records: count, size: json.size },
        { path: csv.path, title: `${spec.title} (CSV)`, records: count, size: csv.size },
      ];
      return {
        files,
        totals: { [spec.totalKey]: count },
        preview: { title: spec.title, columns: spec.preview.columns, rows, total: count, links: files.map((f) => f.path) },
      };
    },
  };
}
