import { selectDailyTimeline } from '../../db/queries/worker-sources.ts';
import { CONTENT_TYPES, PACKAGE_PATHS, timelineBuckets, type TimelineUnit } from '../../domain/package-plan.ts';
import { graphDateTime } from '../../domain/formats.ts';
import { CSV_NOTE, esc, formatBytes, hrefOf, INDEX_CSP, LINK_SCRIPT, STYLE } from '../render-package.ts';
import type { RenderContext, Section, SectionPreview, SectionResult } from './section.ts';

function timelineSvg(buckets: readonly { start: string; count: number }[], unit: TimelineUnit): string {
  if (buckets.length === 0) return '<p>No activity recorded.</p>';
  const width = 720;
  const height = 120;
  let max = 0;
  for (const b of buckets) max = Math.max(max, b.count);
  const barWidth = width / buckets.length;
  const bars = buckets
    .map((b, i) => {
      const h = Math.max(b.count > 0 ? 2 : 0, Math.round((b.count / max) * (height - 20)));
      return `<rect x="${(i * barWidth).toFixed(1)}" y="${height - 16 - h}" width="${Math.max(1, barWidth - 1).toFixed(1)}" height="${h}" fill="#0f6cbd"><title>${esc(b.start)}: ${b.count}</title></rect>`;
    })
    .join('');
  const first = buckets[0]!.start;
  const last = buckets[buckets.length - 1]!.start;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Activity per ${unit} from ${esc(first)} to ${esc(last)}" viewBox="0 0 ${width} ${height}" width="100%" class="timeline">` +
    `${bars}<line x1="0" y1="${height - 15}" x2="${width}" y2="${height - 15}" stroke="#888"/>` +
    `<text x="0" y="${height - 2}" font-size="11">${esc(first)}</text><text x="${width}" y="${height - 2}" font-size="11" text-anchor="end">${esc(last)}</text></svg>`
  );
}

function link(path: string, text = path): string {
  return `<a href="${esc(hrefOf(path))}">${esc(text)}</a>`;
}

function previewTable(p: SectionPreview): string {
  const head = `<h3>${esc(p.title)} (${p.total})</h3>`;
  const files = p.links.map((l) => link(l)).join(', ');
  if (p.rows.length === 0) return `${head}<p>None. (${files})</p>`;
  const rows = p.rows.map((r) => `<tr>${r.map((c) => `<td class="preview">${esc(c)}</td>`).join('')}</tr>`).join('');
  const more = p.total > p.rows.length ? `The first ${p.rows.length} of ${p.total}; all of them are in ${files}.` : `All of them are in ${files}.`;
  return `${head}<table><thead><tr>${p.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table><p>${more}</p>`;
}

function driveFilesList(sections: readonly SectionResult[]): string {
  const drive = sections.find((s) => s.driveFiles)?.driveFiles ?? { count: 0, bytes: 0, first: [] };
  const heading = `<h2>Files (${drive.count}, ${esc(formatBytes(drive.bytes))})</h2>`;
  if (drive.count === 0) return `${heading}\n<p>The drive holds no files.</p>`;
  const listed = drive.first
    .map((f) => `<li>${link(f.path, f.path.slice(PACKAGE_PATHS.filesRoot.length + 1))} <small>${esc(formatBytes(f.size))}</small></li>`)
    .join('');
  const more =
    drive.count > drive.first.length
      ? `<p>… and ${drive.count - drive.first.length} more; every file is listed in ${link(PACKAGE_PATHS.driveItems, 'DriveItems.json')}.</p>`
      : '';
  return `${heading}\n<ul>${listed}</ul>${more}`;
}

async function indexHtml(ctx: RenderContext): Promise<string> {
  const op = ctx.operation;
  const { unit, buckets } = timelineBuckets(await selectDailyTimeline(ctx.q, op.tenantId, op.userId));
  const totals: Record<string, number> = {};
  for (const r of ctx.earlier) Object.assign(totals, r.totals);
  const rows = ctx.earlier
    .flatMap((r) => r.files)
    .map((f) => `<tr><td>${link(f.path)}</td><td>${esc(f.title)}</td><td>${f.records ?? ''}</td><td>${esc(formatBytes(f.size))}</td></tr>`)
    .join('\n');
  const previews = ctx.earlier.flatMap((r) => (r.preview ? [previewTable(r.preview)] : [])).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${esc(INDEX_CSP)}"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Personal data export for ${esc(ctx.user.display_name ?? op.userPrincipalName)}</title>
<style>${STYLE}</style>
</head><body>
<h1>Personal data export</h1>
<dl>
<dt>User</dt><dd>${esc(ctx.user.display_name)} (${esc(op.userPrincipalName)})</dd>
<dt>User id</dt><dd>${esc(op.userId)}</dd>
<dt>Tenant</dt><dd>${esc(op.tenantId)}</dd>
<dt>Request</dt><dd>${esc(op.id)}, submitted ${esc(graphDateTime(op.submittedAt))}</dd>
<dt>Generated</dt><dd>${esc(graphDateTime(ctx.now))}</dd>
<dt>Total size</dt><dd>${esc(formatBytes(ctx.plannedTotals.bytes))} in ${ctx.plannedTotals.files} files (index.html and manifest.json not counted)</dd>
</dl>
<h2>Activity timeline</h2>
<p>Drive activity and sign-ins per ${unit} (${totals.activities ?? 0} activity records, ${totals.signIns ?? 0} sign-ins).</p>
${timelineSvg(buckets, unit)}
<h2>Sections</h2>
<table><thead><tr><th>File</th><th>Content</th><th>Records</th><th>Size</th></tr></thead><tbody>
${rows}
</tbody></table>
<p>${esc(CSV_NOTE)}</p>
<p>${link(PACKAGE_PATHS.manifest)} lists every file with its size and SHA-256.</p>
<h2>First records of each section</h2>
${previews}
${driveFilesList(ctx.earlier)}
<script>${LINK_SCRIPT}</script>
</body></html>
`;
}

/**
 * index.html: a page a person can open, small at any size: totals, the activity timeline (per
 * day, week or month, counted in SQL), every section's file with its record count, the first
 * records of each section, and the first drive files, all linked.
 */
export const indexHtmlSection: Section = {
  name: 'IndexHtml',
  tables: [],
  async render(ctx) {
    const file = await ctx.writeFile(PACKAGE_PATHS.index, CONTENT_TYPES.html, [await indexHtml(ctx)]);
    return { files: [{ path: file.path, title: 'This page', records: null, size: file.size }] };
  },
};
