import type { Queryable } from '../../db/pool.ts';
import { CONTENT_TYPES, csvLine } from '../../domain/package-plan.ts';
import { redacted } from './redaction.ts';
import type { RenderContext, Section, SectionFile, SectionResult } from './section.ts';

type CsvValue = string | number | boolean | null | undefined;

/** Rows shown per section in index.html. */
export const PREVIEW_ROWS = 5;
/** A section with at most this many rows writes its CSV from the rows its JSON pass read. */
const REUSE_ROWS = 1000;

/** Graph's collection namespace: the package's JSON files name the Graph type of their records. */
export function odataContext(entitySet: string): string {
  return `https://graph.microsoft.com/v1.0/$metadata#${entitySet}`;
}

/**
 * A JSON file in Graph's collection shape, `{"@odata.context": …, "value": [ … ]}`, one record
 * per line, pieces that never split a record.
 */
export async function* graphCollection<R>(context: string, rows: AsyncIterable<R>, toJson: (row: R) => unknown): AsyncGenerator<string> {
  yield* graphCollectionOfTexts(
    context,
    (async function* () {
      for await (const row of rows) yield JSON.stringify(toJson(row));
    })(),
  );
}

/** graphCollection of records that are JSON texts already. */
export async function* graphCollectionOfTexts(context: string, records: AsyncIterable<string>): AsyncGenerator<string> {
  yield `{\n  "@odata.context": ${JSON.stringify(context)},\n  "value": [`;
  let first = true;
  for await (const record of records) {
    yield `${first ? '\n' : ',\n'}    ${record}`;
    first = false;
  }
  yield `${first ? '' : '\n  '}]\n}\n`;
}

/** A CSV file: header line, then one line per row (formula cells neutralised by csvLine). */
export async function* csvFile<R>(columns: readonly string[], rows: AsyncIterable<R>, toRow: (row: R) => readonly CsvValue[]): AsyncGenerator<string> {
  yield csvLine(columns);
  for await (const row of rows) yield csvLine(toRow(row));
}

/** A value as a short preview cell. */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : (JSON.stringify(v) ?? '');
  return s.length > 120 ? `${s.slice(0, 119)}…` : s;
}

/** Reads a dotted path ("status.errorCode") out of a Graph record. */
export function pick(o: Record<string, unknown>, path: string): string | number | boolean | null {
  let v: unknown = o;
  for (const key of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  if (v === undefined || v === null) return null;
  return typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
}

/** A query of worker-sources.ts: the subject's rows through a cursor in the snapshot. */
export type SubjectQuery<R> = (q: Queryable, tenantId: string, userId: string) => AsyncIterable<R>;

/**
 * A section's rows: `query` for the export's subject in the snapshot; given `redact`, other
 * actors' details are left out as the tenant's privacy statement says (see redaction.ts).
 */
export function subjectRows<R>(query: SubjectQuery<R>, redact?: (row: R, subjectId: string) => R): (ctx: RenderContext) => AsyncIterable<R> {
  return (ctx) => {
    const { tenantId, userId } = ctx.operation;
    const rows = query(ctx.q, tenantId, userId);
    return redact && ctx.redactsOtherActors ? redacted(userId, rows, redact) : rows;
  };
}

/**
 * What most sections are: a list of records about the subject, as Graph-shaped JSON and,
 * optionally, as CSV, each file streamed from its own pass over a cursor in the snapshot.
 */
export interface RecordSectionSpec<R> {
  readonly name: string;
  readonly tables: readonly string[];
  /** manifest.json's totals key (e.g. "signIns"). */
  readonly totalKey: string;
  /** The heading of the records in index.html ("Sign-ins"). */
  readonly title: string;
  readonly rows: (ctx: RenderContext) => AsyncIterable<R>;
  readonly json: { readonly path: string; readonly context: string; readonly toJson: (row: R) => Record<string, unknown> };
  readonly csv?: { readonly path: string; readonly columns: readonly string[]; readonly toRow: (row: R) => readonly CsvValue[] };
  /** index.html's preview: column titles and a record's cells. */
  readonly preview: { readonly columns: readonly string[]; readonly cells: (json: Record<string, unknown>) => readonly unknown[] };
}

export function recordSection<R>(spec: RecordSectionSpec<R>): Section {
  return {
    name: spec.name,
    tables: spec.tables,
    async render(ctx: RenderContext): Promise<SectionResult> {
      let count = 0;
      const rows: string[][] = [];
      const kept: R[] = [];
      const json = await ctx.writeFile(
        spec.json.path,
        CONTENT_TYPES.json,
        graphCollection(spec.json.context, spec.rows(ctx), (row) => {
          // Past REUSE_ROWS the CSV reads the snapshot again: the rows kept so far are dropped at
          // once instead of staying alive (and growing the heap) through the rest of the pass.
          if (spec.csv && count < REUSE_ROWS) kept.push(row);
          else if (count === REUSE_ROWS) kept.length = 0;
          const record = spec.json.toJson(row);
          if (count < PREVIEW_ROWS) rows.push(spec.preview.cells(record).map(cell));
          count++;
          return record;
        }),
      );
      const files: SectionFile[] = [{ path: json.path, title: `${spec.title} (JSON)`, records: count, size: json.size }];
      if (spec.csv) {
        const { columns, toRow } = spec.csv;
        // Small sections (most subjects) are read once; larger ones in a second pass over the
        // snapshot, so that memory never holds a section.
        const again =
          count <= REUSE_ROWS
            ? (async function* () {
                yield* kept;
              })()
            : spec.rows(ctx);
        const csv = await ctx.writeFile(spec.csv.path, CONTENT_TYPES.csv, csvFile(columns, again, toRow));
        files.push({ path: csv.path, title: `${spec.title} (CSV)`, records: count, size: csv.size });
      }
      return {
        files,
        totals: { [spec.totalKey]: count },
        preview: { title: spec.title, columns: spec.preview.columns, rows, total: count, links: files.map((f) => f.path) },
      };
    },
  };
}
