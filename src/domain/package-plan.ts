// Pure rules of the export package (docs/architecture.md#package-layout): where every file goes, blob-safe names for
// drive paths, RFC 4180 CSV, the usage report. No I/O; `now` and inputs come in as arguments.

export const PACKAGE_SCHEMA_VERSION = '1.0';

export const PACKAGE_PATHS = {
  requestInfo: 'RequestInfo.json',
  user: 'Directory/User.json',
  signInsJson: 'Directory/SignIns.json',
  signInsCsv: 'Directory/SignIns.csv',
  auditLogs: 'Directory/AuditLogs.json',
  driveItems: 'OneDrive/DriveItems.json',
  activityJson: 'OneDrive/Activity.json',
  activityCsv: 'OneDrive/Activity.csv',
  usageReport: 'OneDrive/UsageReport.csv',
  exportRequests: 'Directory/ExportRequests.json',
  activityElsewhereJson: 'OneDrive/ActivityOnOtherDrives.json',
  activityElsewhereCsv: 'OneDrive/ActivityOnOtherDrives.csv',
  filesRoot: 'OneDrive/Files',
  index: 'index.html',
  manifest: 'manifest.json',
} as const;

export const CONTENT_TYPES = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  html: 'text/html; charset=utf-8',
  binary: 'application/octet-stream',
} as const;

/** Azure caps blob names at 1,024 characters; the SAS's directory prefix takes its share. */
export const MAX_BLOB_NAME_LENGTH = 1024;
// Windows (where most packages get unzipped or synced) caps one path component at 255.
const MAX_SEGMENT_LENGTH = 255;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
// Unsafe in a blob name or on a desktop file system: control characters, the Windows-reserved
// set, and characters that change meaning in a URL path (`\` becomes `/` in Azure, `%` and `#`
// confuse tools that decode paths).
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f"*:<>?|\\#%]/g;

function splitExtension(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  // ".bashrc" has no extension; "a." has an empty one; long "extensions" are really names.
  if (dot <= 0 || name.length - dot > 16) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

/** One path component made blob-safe; never empty, never `.`/`..`, no trailing dot or space. */
export function blobSafeSegment(name: string): string {
  let s = name.normalize('NFC').replace(UNSAFE_CHARACTERS, '_').replace(/\//g, '_');
  // Azure and Windows drop trailing dots and spaces; a name ending in them would change.
  s = s.replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  if (s === '') s = '_';
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if (s.length > MAX_SEGMENT_LENGTH) {
    const [base, ext] = splitExtension(s);
    s = base.slice(0, MAX_SEGMENT_LENGTH - ext.length) + ext;
  }
  return s;
}

/** "report.pdf" → "report (2).pdf": the n-th name that collides in a folder. */
function numbered(name: string, n: number): string {
  const [base, ext] = splitExtension(name);
  const suffix = ` (${n})`;
  return base.slice(0, MAX_SEGMENT_LENGTH - ext.length - suffix.length) + suffix + ext;
}

export interface DriveNode {
  readonly id: string;
  readonly parentId: string | null;
  readonly name: string;
  readonly isFolder: boolean;
}

export interface DrivePlacement {
  /** The item's path in the drive, "" for the root, "Docs/a.txt" below it (Graph's names). */
  readonly drivePath: string;
  /** Where the item lives in the package ("OneDrive/Files/Docs/a.txt"; folders: their prefix). */
  readonly packagePath: string;
}

/**
 * Byte order of the names' UTF-8 (code point order): what PostgreSQL's `collate "C"` sorts by,
 * so a folder read in order from the database is named exactly as placeDriveItems names it.
 */
export function compareNames(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Names the children of one folder, fed in order (name in code point order, then id): names
 * become blob-safe, and two names that become equal (also when differing only in case: Windows
 * and macOS would merge them) get " (2)", " (3)". A path longer than a blob name allows moves to
 * OneDrive/Files/_long-paths/<id>-<name>. Holds the folder's names only.
 */
export class FolderNamer {
  private readonly seen = new Set<string>();

  constructor(
    private readonly drivePrefix: string,
    private readonly packagePrefix: string,
    private readonly maxPathLength = MAX_BLOB_NAME_LENGTH,
  ) {}

  place(item: { readonly id: string; readonly name: string }): DrivePlacement {
    const safe = blobSafeSegment(item.name);
    let name = safe;
    for (let n = 2; this.seen.has(name.toLowerCase()); n++) name = numbered(safe, n);
    this.seen.add(name.toLowerCase());
    const drivePath = this.drivePrefix ? `${this.drivePrefix}/${item.name}` : item.name;
    let packagePath = `${this.packagePrefix}/${name}`;
    if (packagePath.length > this.maxPathLength) packagePath = `${PACKAGE_PATHS.filesRoot}/_long-paths/${item.id}-${name}`.slice(0, this.maxPathLength);
    return { drivePath, packagePath };
  }
}

/**
 * Places every drive item in the package (FolderNamer per folder). An item whose parent is not
 * one of the drive's folders hangs under the root rather than vanishing. The export computes the
 * same placements folder by folder in the database (drive-placements.ts); this is the rule in one
 * piece.
 */
export function placeDriveItems(items: readonly DriveNode[], maxPathLength = MAX_BLOB_NAME_LENGTH): Map<string, DrivePlacement> {
  const parents = new Set(items.filter((i) => i.isFolder || i.parentId === null).map((i) => i.id));
  const children = new Map<string | null, DriveNode[]>();
  const roots: DriveNode[] = [];
  for (const item of items) {
    const parentKey = item.parentId !== null && parents.has(item.parentId) ? item.parentId : null;
    if (item.parentId === null) roots.push(item);
    else {
      const list = children.get(parentKey) ?? [];
      list.push(item);
      children.set(parentKey, list);
    }
  }
  const placements = new Map<string, DrivePlacement>();
  const root = PACKAGE_PATHS.filesRoot;
  const place = (list: readonly DriveNode[], drivePrefix: string, packagePrefix: string) => {
    const namer = new FolderNamer(drivePrefix, packagePrefix, maxPathLength);
    const sorted = [...list].sort((a, b) => compareNames(a.name, b.name) || (a.id < b.id ? -1 : 1));
    for (const item of sorted) {
      const placement = namer.place(item);
      placements.set(item.id, placement);
      if (item.isFolder) place(children.get(item.id) ?? [], placement.drivePath, placement.packagePath);
    }
  };
  for (const r of roots) placements.set(r.id, { drivePath: '', packagePath: root });
  // Children of the root and orphans share the top folder's namespace.
  place([...roots.flatMap((r) => children.get(r.id) ?? []), ...(children.get(null) ?? [])], '', root);
  return placements;
}

type CsvValue = string | number | boolean | null | undefined;

// A spreadsheet reads a cell that starts with one of these as a formula (OWASP's CSV injection
// list): `=HYPERLINK(…)` in a user agent or a file name would be live in Excel or LibreOffice.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: text that a spreadsheet would run as a formula gets a leading `'` (the OWASP
 * rule; spreadsheets show the text as is), then RFC 4180 quoting. Numbers and booleans are
 * values the service wrote itself (counts, flags) and stay as they are, negative numbers included.
 */
export function csvCell(v: CsvValue): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line with its CRLF (streamed writers emit these one by one). */
export function csvLine(row: readonly CsvValue[]): string {
  return `${row.map(csvCell).join(',')}\r\n`;
}

/** RFC 4180: CRLF line ends, fields with comma, quote, CR or LF quoted, quotes doubled; formulas neutralised. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map(csvLine).join('');
}

// Content types a browser shows or downloads but never runs. A drive file of any other type
// (text/html, image/svg+xml, application/xml, text/javascript, …) is written as
// application/octet-stream: on the storage origin, with a SAS in the address bar, active content
// could read the SAS and rewrite the package. Every drive file is also written with
// `Content-Disposition: attachment`, so even a passive type is downloaded rather than opened.
const PASSIVE_TYPES = new Set([
  'text/plain',
  'text/csv',
  'application/pdf',
  'application/zip',
  'application/gzip',
  'application/json',
  'application/msword',
  'application/vnd.ms-excel',
  'application/vnd.ms-powerpoint',
  'application/rtf',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/bmp',
  'image/tiff',
  'image/avif',
  'image/heic',
]);
const PASSIVE_PREFIXES = ['audio/', 'video/', 'application/vnd.openxmlformats-officedocument.', 'application/vnd.oasis.opendocument.'];

/** The Content-Type a drive file is written with in a package (its mime type when passive). */
export function packageContentType(mimeType: string | null | undefined): string {
  const base = (mimeType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(base)) return CONTENT_TYPES.binary;
  return PASSIVE_TYPES.has(base) || PASSIVE_PREFIXES.some((p) => base.startsWith(p)) ? base : CONTENT_TYPES.binary;
}

/** Every drive file in a package is a download, never a page of the storage origin. */
export const DRIVE_FILE_DISPOSITION = 'attachment';

export const ACTIVITY_TYPES = ['FileUploaded', 'FileModified', 'FileAccessed', 'FileDownloaded', 'FileDeleted', 'FolderCreated'] as const;

/**
 * UsageReport.csv rows from per-day, per-type counts (computed in SQL): one row per UTC day with
 * activity, counts by activity type (unknown types under Other), oldest first.
 */
export function usageReportRows(counts: readonly { day: string; type: string; count: number }[]): (string | number)[][] {
  const days = new Map<string, Map<string, number>>();
  for (const c of counts) {
    const byType = days.get(c.day) ?? new Map<string, number>();
    const type = (ACTIVITY_TYPES as readonly string[]).includes(c.type) ? c.type : 'Other';
    byType.set(type, (byType.get(type) ?? 0) + c.count);
    days.set(c.day, byType);
  }
  return [...days.keys()].sort().map((day) => {
    const byType = days.get(day)!;
    const row = [...ACTIVITY_TYPES, 'Other'].map((t) => byType.get(t) ?? 0);
    return [day, ...row, row.reduce((a, b) => a + b, 0)];
  });
}

export const USAGE_REPORT_HEADER = ['Report Date', ...ACTIVITY_TYPES, 'Other', 'Total'];

export type TimelineUnit = 'day' | 'week' | 'month';

const DAY_MS = 86_400_000;

function bucketStart(day: string, unit: TimelineUnit): string {
  if (unit === 'day') return day;
  if (unit === 'month') return `${day.slice(0, 7)}-01`;
  // ISO weeks start on Monday.
  const t = Date.parse(`${day}T00:00:00Z`);
  const weekday = (new Date(t).getUTCDay() + 6) % 7;
  return new Date(t - weekday * DAY_MS).toISOString().slice(0, 10);
}

function nextBucket(start: string, unit: TimelineUnit): string {
  if (unit === 'month') {
    const d = new Date(`${start}T00:00:00Z`);
    d.setUTCMonth(d.getUTCMonth() + 1);
    return d.toISOString().slice(0, 10);
  }
  return new Date(Date.parse(`${start}T00:00:00Z`) + (unit === 'week' ? 7 : 1) * DAY_MS).toISOString().slice(0, 10);
}

/**
 * index.html's timeline from per-day counts (computed in SQL, one row per day with activity):
 * bars by day, or by week or month when the history is longer than `maxBuckets` days or weeks
 * (a bar narrower than ~2 px would not show). Empty buckets in between are kept, so the
 * horizontal axis is time. Memory is bounded by the number of days, never by the records.
 */
export function timelineBuckets(
  days: readonly { day: string; count: number }[],
  maxBuckets = 180,
): { unit: TimelineUnit; buckets: { start: string; count: number }[] } {
  if (days.length === 0) return { unit: 'day', buckets: [] };
  let first = days[0]!.day;
  let last = first;
  for (const d of days) {
    if (d.day < first) first = d.day;
    if (d.day > last) last = d.day;
  }
  const spanDays = (Date.parse(`${last}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / DAY_MS + 1;
  const unit: TimelineUnit = spanDays <= maxBuckets ? 'day' : spanDays <= maxBuckets * 7 ? 'week' : 'month';
  const counts = new Map<string, number>();
  for (const d of days) {
    const start = bucketStart(d.day, unit);
    counts.set(start, (counts.get(start) ?? 0) + d.count);
  }
  const buckets: { start: string; count: number }[] = [];
  const end = bucketStart(last, unit);
  for (let b = bucketStart(first, unit); b <= end; b = nextBucket(b, unit)) buckets.push({ start: b, count: counts.get(b) ?? 0 });
  return { unit, buckets };
}
