import { createHash } from 'node:crypto';
import { toGraphSignIn, type SignInRow } from '../activity/sign-in.ts';
import type { DriveActivityRow, ExportDriveItemRow as DriveItemRow } from '../db/queries/worker-sources.ts';
import { toGraphDirectoryAudit, type DirectoryAuditRow } from '../domain/directory-audit.ts';
import type { Requester } from '../domain/operation.ts';
import {
  CONTENT_TYPES, MAX_BLOB_NAME_LENGTH, packageContentType, PACKAGE_PATHS, PACKAGE_SCHEMA_VERSION, placeDriveItems, timelineBuckets, toCsv,
  USAGE_REPORT_HEADER, usageReportRows, type DrivePlacement,
} from '../domain/package-plan.ts';
import { toGraphUser, type UserRow } from '../domain/user.ts';
import { graphDateTime } from '../http/odata.ts';
import { redactSecrets } from '../logger.ts';

/** Everything a package holds about its subject, read in one consistent snapshot. */
export interface ExportSnapshot {
  readonly operation: {
    readonly id: string;
    readonly tenantId: string;
    readonly userId: string;
    readonly userPrincipalName: string;
    readonly requestedBy: Requester;
    readonly submittedAt: Date;
    /** The container (or SAS directory) URL without its query: no signature. */
    readonly storageContainer: string;
  };
  readonly user: UserRow;
  readonly signIns: readonly SignInRow[];
  readonly audits: readonly DirectoryAuditRow[];
  readonly driveItems: readonly DriveItemRow[];
  readonly activities: readonly DriveActivityRow[];
}

/** One file of the plan, in upload order. Inline files carry their bytes; drive files a hash. */
export interface PlannedFile {
  readonly path: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  readonly source: 'inline' | 'content';
  readonly body: Buffer | null;
}

function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function inline(path: string, contentType: string, text: string): PlannedFile {
  // Belt and braces (DESIGN.md §6: no secret in a package): whatever an import or a free-text
  // field carried, SAS signatures, bearer tokens and account keys are scrubbed.
  const body = Buffer.from(redactSecrets(text), 'utf8');
  return { path, contentType, size: body.length, sha256: sha256Hex(body), source: 'inline', body };
}

function json(path: string, value: unknown): PlannedFile {
  return inline(path, CONTENT_TYPES.json, `${JSON.stringify(value, null, 2)}\n`);
}

/** Graph's driveItem shape, plus where the item lives in the package. */
export function toPackageDriveItem(item: DriveItemRow, placement: DrivePlacement, childCount: number, parentPlacement: DrivePlacement | undefined): Record<string, unknown> {
  const isRoot = item.parent_id === null;
  return {
    id: item.id,
    name: item.name,
    size: item.is_folder ? item.size : (item.content_size ?? item.size),
    createdDateTime: graphDateTime(item.created_at),
    lastModifiedDateTime: graphDateTime(item.modified_at),
    ...(isRoot ? { root: {} } : {
      parentReference: {
        driveId: item.owner_user_id,
        driveType: 'business',
        id: item.parent_id,
        path: `/drive/root:${parentPlacement && parentPlacement.drivePath ? `/${parentPlacement.drivePath}` : ''}`,
      },
    }),
    ...(item.is_folder
      ? { folder: { childCount } }
      : { file: { mimeType: item.mime_type ?? CONTENT_TYPES.binary, hashes: { ...(item.quick_xor_hash ? { quickXorHash: item.quick_xor_hash } : {}), sha256Hash: (item.content_sha256 ?? '').toUpperCase() } } }),
    createdBy: item.created_by,
    lastModifiedBy: item.modified_by,
    packagePath: placement.packagePath,
  };
}

function signInCsv(rows: readonly Record<string, unknown>[]): string {
  const get = (o: Record<string, unknown>, path: string): string | number | boolean | null => {
    let v: unknown = o;
    for (const key of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    if (v === undefined || v === null) return null;
    return typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
  };
  const columns = [
    'id', 'createdDateTime', 'userPrincipalName', 'userDisplayName', 'appId', 'appDisplayName', 'ipAddress', 'clientAppUsed',
    'isInteractive', 'resourceDisplayName', 'conditionalAccessStatus', 'status.errorCode', 'status.failureReason',
    'location.city', 'location.countryOrRegion', 'deviceDetail.operatingSystem', 'deviceDetail.browser',
  ];
  return toCsv(columns, rows.map((r) => columns.map((c) => get(r, c))));
}

function activityJson(a: DriveActivityRow): Record<string, unknown> {
  return {
    id: a.id,
    activityDateTime: graphDateTime(a.activity_at),
    activityType: a.activity_type,
    actor: a.actor,
    itemId: a.item_id,
    itemPath: a.item_path,
    clientIp: a.client_ip,
    userAgent: a.user_agent,
    appId: a.app_id,
  };
}

function actorName(actor: Record<string, unknown>): string {
  const who = (actor.user ?? actor.application ?? actor) as Record<string, unknown>;
  return String(who.displayName ?? who.userPrincipalName ?? who.id ?? '');
}

function activityCsv(rows: readonly DriveActivityRow[]): string {
  return toCsv(
    ['id', 'activityDateTime', 'activityType', 'actorId', 'actorName', 'itemId', 'itemPath', 'clientIp', 'userAgent', 'appId'],
    rows.map((a) => {
      const who = 'user' in a.actor ? a.actor.user : a.actor.application;
      return [a.id, graphDateTime(a.activity_at), a.activity_type, String(who.id ?? ''), actorName(a.actor),
        a.item_id, a.item_path, a.client_ip, a.user_agent, a.app_id];
    }),
  );
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
// Names come from users and imports: a right-to-left override (U+202E) can make "gpj.exe" read
// as "exe.jpg", and control characters can hide text. Bidi overrides, embeddings, isolates and
// marks, C0 and C1 controls are shown as their code point ("[U+202E]") instead of acting.
// eslint-disable-next-line no-control-regex
const INERT = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text for HTML: markup escaped, invisible controls made visible. */
export function esc(s: unknown): string {
  return String(s ?? '')
    .replace(INERT, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`)
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** A package path as a relative href: every segment percent-encoded. */
export function hrefOf(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

function timelineSvg(activities: readonly DriveActivityRow[], signIns: readonly SignInRow[]): string {
  const dates = [...activities.map((a) => a.activity_at), ...signIns.map((s) => s.created_at)];
  const buckets = timelineBuckets(dates);
  if (buckets.length === 0) return '<p>No activity recorded.</p>';
  const width = 720;
  const height = 120;
  const max = Math.max(...buckets.map((b) => b.count));
  const barWidth = width / buckets.length;
  const bars = buckets.map((b, i) => {
    const h = Math.max(b.count > 0 ? 2 : 0, Math.round((b.count / max) * (height - 20)));
    return `<rect x="${(i * barWidth).toFixed(1)}" y="${height - 16 - h}" width="${Math.max(1, barWidth - 1).toFixed(1)}" height="${h}" fill="#0f6cbd"><title>${esc(b.start)}: ${b.count}</title></rect>`;
  }).join('');
  const first = buckets[0]!.start;
  const last = buckets[buckets.length - 1]!.start;
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Activity per day from ${esc(first)} to ${esc(last)}" viewBox="0 0 ${width} ${height}" width="100%" class="timeline">`
    + `${bars}<line x1="0" y1="${height - 15}" x2="${width}" y2="${height - 15}" stroke="#888"/>`
    + `<text x="0" y="${height - 2}" font-size="11">${esc(first)}</text><text x="${width}" y="${height - 2}" font-size="11" text-anchor="end">${esc(last)}</text></svg>`;
}

// Relative links must carry the page's own SAS (the query string it was opened with), or every
// click through a SAS URL would be a 403; from a downloaded copy location.search is empty and
// the links stay plain relative paths.
const LINK_SCRIPT = `(function(){var q=location.search;if(!q)return;var a=document.querySelectorAll('a[href]');for(var i=0;i<a.length;i++){var h=a[i].getAttribute('href');if(/^([a-z][a-z0-9+.-]*:|\\/|#|\\?)/i.test(h))continue;a[i].setAttribute('href',h+q);}})();`;
const STYLE = 'body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}svg.timeline{max-width:720px}';

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * index.html's Content-Security-Policy: its own script and stylesheet by hash and nothing else
 * (no other script, no inline handler or style attribute, no fetch, frame, form or base URL).
 * A name that slipped through escaping could still not run. Exported for the tests.
 */
export const INDEX_CSP = `default-src 'none'; script-src ${cspHash(LINK_SCRIPT)}; style-src ${cspHash(STYLE)}; `
  + "img-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'";

/** What index.html says about the CSV files (also the package's description of them). */
export const CSV_NOTE = 'In the CSV files, a cell that starts with =, +, -, @, a tab or a carriage return is written with a leading apostrophe (\') so that a spreadsheet shows it as text instead of running it as a formula.';

/** index.html files list is capped: a page with 100k links is no use; DriveItems.json has them all. */
export const INDEX_FILE_LINKS = 1000;

function indexHtml(s: ExportSnapshot, files: readonly PlannedFile[], now: Date, counts: Record<string, number>): string {
  const op = s.operation;
  const sizeOf = (path: string) => files.find((f) => f.path === path)?.size ?? 0;
  const section = (path: string, title: string, records: string) =>
    `<tr><td><a href="${esc(hrefOf(path))}">${esc(path)}</a></td><td>${esc(title)}</td><td>${esc(records)}</td><td>${esc(formatBytes(sizeOf(path)))}</td></tr>`;
  const driveFiles = files.filter((f) => f.source === 'content');
  const driveBytes = driveFiles.reduce((a, f) => a + f.size, 0);
  const listed = driveFiles.slice(0, INDEX_FILE_LINKS).map((f) =>
    `<li><a href="${esc(hrefOf(f.path))}">${esc(f.path.slice(PACKAGE_PATHS.filesRoot.length + 1))}</a> <small>${esc(formatBytes(f.size))}</small></li>`).join('');
  const more = driveFiles.length > INDEX_FILE_LINKS
    ? `<p>… and ${driveFiles.length - INDEX_FILE_LINKS} more; every file is listed in <a href="${esc(hrefOf(PACKAGE_PATHS.driveItems))}">DriveItems.json</a>.</p>` : '';
  const totalBytes = files.reduce((a, f) => a + f.size, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${esc(INDEX_CSP)}"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Personal data export for ${esc(s.user.display_name ?? op.userPrincipalName)}</title>
<style>${STYLE}</style>
</head><body>
<h1>Personal data export</h1>
<dl>
<dt>User</dt><dd>${esc(s.user.display_name)} (${esc(op.userPrincipalName)})</dd>
<dt>User id</dt><dd>${esc(op.userId)}</dd>
<dt>Tenant</dt><dd>${esc(op.tenantId)}</dd>
<dt>Request</dt><dd>${esc(op.id)}, submitted ${esc(graphDateTime(op.submittedAt))}</dd>
<dt>Generated</dt><dd>${esc(graphDateTime(now))}</dd>
<dt>Total size</dt><dd>${esc(formatBytes(totalBytes))} in ${files.length} files (manifest.json not counted)</dd>
</dl>
<h2>Activity timeline</h2>
<p>Drive activity and sign-ins per day (${counts.activities} activity records, ${counts.signIns} sign-ins).</p>
${timelineSvg(s.activities, s.signIns)}
<h2>Sections</h2>
<table><thead><tr><th>File</th><th>Content</th><th>Records</th><th>Size</th></tr></thead><tbody>
${section(PACKAGE_PATHS.requestInfo, 'The request this package answers', '1')}
${section(PACKAGE_PATHS.user, 'Directory profile', '1')}
${section(PACKAGE_PATHS.signInsJson, 'Sign-ins (JSON)', String(counts.signIns))}
${section(PACKAGE_PATHS.signInsCsv, 'Sign-ins (CSV)', String(counts.signIns))}
${section(PACKAGE_PATHS.auditLogs, 'Directory audits about or by the user', String(counts.directoryAudits))}
${section(PACKAGE_PATHS.driveItems, 'Drive items, with where each is in this package', String(counts.driveItems))}
${section(PACKAGE_PATHS.activityJson, 'Drive activity (JSON)', String(counts.activities))}
${section(PACKAGE_PATHS.activityCsv, 'Drive activity (CSV)', String(counts.activities))}
${section(PACKAGE_PATHS.usageReport, 'Drive activity per day', String(counts.usageDays))}
</tbody></table>
<p>${esc(CSV_NOTE)}</p>
<p><a href="${esc(hrefOf(PACKAGE_PATHS.manifest))}">manifest.json</a> lists every file with its size and SHA-256.</p>
<h2>Files (${driveFiles.length}, ${esc(formatBytes(driveBytes))})</h2>
${driveFiles.length === 0 ? '<p>The drive holds no files.</p>' : `<ul>${listed}</ul>${more}`}
<script>${LINK_SCRIPT}</script>
</body></html>
`;
}

/**
 * The whole plan of a package (DESIGN.md §6), in upload order: RequestInfo.json first, the data,
 * index.html, manifest.json last. Metadata is rendered now (the snapshot); drive files are
 * referenced by hash and streamed from the content store when uploaded.
 * `maxPathLength` leaves room for a SAS directory prefix in blob names.
 */
export function buildPackagePlan(s: ExportSnapshot, now: Date, maxPathLength = MAX_BLOB_NAME_LENGTH): PlannedFile[] {
  const op = s.operation;
  const files: PlannedFile[] = [];
  files.push(json(PACKAGE_PATHS.requestInfo, {
    schemaVersion: PACKAGE_SCHEMA_VERSION,
    operationId: op.id,
    tenantId: op.tenantId,
    userId: op.userId,
    userPrincipalName: op.userPrincipalName,
    requestedBy: {
      kind: op.requestedBy.kind, appId: op.requestedBy.appId, id: op.requestedBy.oid, userPrincipalName: op.requestedBy.upn ?? null,
    },
    submittedDateTime: graphDateTime(op.submittedAt),
    snapshotDateTime: graphDateTime(now),
    storageLocation: op.storageContainer,
    generator: 'dsr-export',
  }));
  files.push(json(PACKAGE_PATHS.user, toGraphUser(s.user)));
  const signIns = s.signIns.map(toGraphSignIn);
  files.push(json(PACKAGE_PATHS.signInsJson, { value: signIns }));
  files.push(inline(PACKAGE_PATHS.signInsCsv, CONTENT_TYPES.csv, signInCsv(signIns)));
  files.push(json(PACKAGE_PATHS.auditLogs, { value: s.audits.map(toGraphDirectoryAudit) }));

  const placements = placeDriveItems(
    s.driveItems.map((i) => ({ id: i.id, parentId: i.parent_id, name: i.name, isFolder: i.is_folder })), maxPathLength);
  const childCounts = new Map<string, number>();
  for (const i of s.driveItems) if (i.parent_id) childCounts.set(i.parent_id, (childCounts.get(i.parent_id) ?? 0) + 1);
  const driveItems = s.driveItems.map((i) => toPackageDriveItem(
    i, placements.get(i.id)!, childCounts.get(i.id) ?? 0, i.parent_id ? placements.get(i.parent_id) : undefined));
  files.push(json(PACKAGE_PATHS.driveItems, { value: driveItems }));
  files.push(json(PACKAGE_PATHS.activityJson, { value: s.activities.map(activityJson) }));
  files.push(inline(PACKAGE_PATHS.activityCsv, CONTENT_TYPES.csv, activityCsv(s.activities)));
  const usage = usageReportRows(s.activities.map((a) => ({ at: a.activity_at, type: a.activity_type })));
  files.push(inline(PACKAGE_PATHS.usageReport, CONTENT_TYPES.csv, toCsv(USAGE_REPORT_HEADER, usage)));

  const driveFiles = s.driveItems
    .filter((i) => !i.is_folder && i.content_sha256)
    .map((i): PlannedFile => ({
      path: placements.get(i.id)!.packagePath,
      contentType: packageContentType(i.mime_type),
      size: i.content_size ?? i.size,
      sha256: i.content_sha256!,
      source: 'content',
      body: null,
    }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  files.push(...driveFiles);

  const counts = {
    signIns: s.signIns.length,
    directoryAudits: s.audits.length,
    activities: s.activities.length,
    driveItems: s.driveItems.length,
    driveFiles: driveFiles.length,
    driveFolders: s.driveItems.filter((i) => i.is_folder).length,
    usageDays: usage.length,
  };
  files.push(inline(PACKAGE_PATHS.index, CONTENT_TYPES.html, indexHtml(s, files, now, counts)));

  files.push(json(PACKAGE_PATHS.manifest, {
    schemaVersion: PACKAGE_SCHEMA_VERSION,
    operation: {
      id: op.id, tenantId: op.tenantId, userId: op.userId, userPrincipalName: op.userPrincipalName,
      submittedDateTime: graphDateTime(op.submittedAt),
    },
    generatedDateTime: graphDateTime(now),
    totals: {
      files: files.length,
      bytes: files.reduce((a, f) => a + f.size, 0),
      driveFiles: counts.driveFiles,
      driveBytes: driveFiles.reduce((a, f) => a + f.size, 0),
      driveFolders: counts.driveFolders,
      signIns: counts.signIns,
      directoryAudits: counts.directoryAudits,
      activities: counts.activities,
    },
    files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, contentType: f.contentType })),
  }));
  return files;
}

/** manifest.json as verify reads it. */
export interface PackageManifest {
  schemaVersion: string;
  operation: { id: string };
  generatedDateTime: string;
  totals: Record<string, number>;
  files: { path: string; size: number; sha256: string; contentType: string }[];
}
