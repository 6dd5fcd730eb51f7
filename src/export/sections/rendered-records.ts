import type { RecordCells, RecordText } from '../../db/queries/worker-record-texts.ts';
import { CONTENT_TYPES, csvLine } from '../../domain/package-plan.ts';
import { cell, graphCollectionOfTexts, PREVIEW_ROWS } from './records.ts';
import type { RenderContext, Section, SectionFile, SectionResult } from './section.ts';

/**
 * A record section whose records PostgreSQL renders (worker-record-texts.ts): the sections that
 * grow to millions of rows. The JSON file streams the records' texts as they come; the CSV file
 * a second pass over the snapshot, its cells going through csvLine (formula neutralisation,
 * quoting) as every CSV of the package does. Only the preview's first rows are parsed. Memory
 * holds a cursor page and a chunk of output, whatever the number of records.
 */
export interface RenderedRecordSectionSpec {
  readonly name: string;
  readonly tables: readonly string[];
  /** manifest.json's totals key (e.g. "signIns"). */
  readonly totalKey: string;
  /** The heading of the records in index.html ("Sign-ins"). */
  readonly title: string;
  readonly json: { readonly path: string; readonly context: string; readonly records: (ctx: RenderContext) => AsyncIterable<RecordText> };
  readonly csv: { readonly path: string; readonly columns: readonly string[]; readonly cells: (ctx: RenderContext) => AsyncIterable<RecordCells> };
  /** index.html's preview: column titles and a record's cells. */
  readonly preview: { readonly columns: readonly string[]; readonly cells: (json: Record<string, unknown>) => readonly unknown[] };
}

/** A cell as CSV writes it: objects (a nested Graph value) as their JSON text. */
function csvValue(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
}

export function renderedRecordSection(spec: RenderedRecordSectionSpec): Section {
  return {
    name: spec.name,
    tables: spec.tables,
    async render(ctx: RenderContext): Promise<SectionResult> {
      let count = 0;
      const rows: string[][] = [];
      const json = await ctx.writeFile(
        spec.json.path,
        CONTENT_TYPES.json,
        graphCollectionOfTexts(
          spec.json.context,
          (async function* () {
            for await (const { json: text } of spec.json.records(ctx)) {
              if (count < PREVIEW_ROWS) rows.push(spec.preview.cells(JSON.parse(text) as Record<string, unknown>).map(cell));
              count++;
              yield text;
            }
          })(),
        ),
      );
      const { columns } = spec.csv;
      const csv = await ctx.writeFile(
        spec.csv.path,
        CONTENT_TYPES.csv,
        (async function* () {
          yield csvLine(columns);
          for await (const { cells } of spec.csv.cells(ctx)) yield csvLine((JSON.parse(cells) as unknown[]).map(csvValue));
        })(),
      );
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
