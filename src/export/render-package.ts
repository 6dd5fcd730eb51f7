import { createHash } from 'node:crypto';
import type { ExportDriveItemRow as DriveItemRow } from '../db/queries/worker-sources.ts';
import { CONTENT_TYPES, type DrivePlacement } from '../domain/package-plan.ts';
import { graphDateTime } from '../domain/formats.ts';

// What the package's sections share when they render: Graph's driveItem shape with its place in
// the package, HTML escaping, links, sizes, and index.html's fixed script, style and policy.

/**
 * Graph's driveItem shape, plus where the item lives in the package. `parentDrivePath`: the
 * parent's path in the drive (undefined: the item hangs under the root).
 */
export function toPackageDriveItem(
  item: DriveItemRow,
  placement: DrivePlacement,
  childCount: number,
  parentDrivePath: string | undefined,
): Record<string, unknown> {
  const isRoot = item.parent_id === null;
  return {
    id: item.id,
    name: item.name,
    size: item.is_folder ? item.size : (item.content_size ?? item.size),
    createdDateTime: graphDateTime(item.created_at),
    lastModifiedDateTime: graphDateTime(item.modified_at),
    ...(isRoot
      ? { root: {} }
      : {
          parentReference: {
            driveId: item.owner_user_id,
            driveType: 'business',
            id: item.parent_id,
            path: `/drive/root:${parentDrivePath ? `/${parentDrivePath}` : ''}`,
          },
        }),
    ...(item.is_folder
      ? { folder: { childCount } }
      : {
          file: {
            mimeType: item.mime_type ?? CONTENT_TYPES.binary,
            hashes: { ...(item.quick_xor_hash ? { quickXorHash: item.quick_xor_hash } : {}), sha256Hash: (item.content_sha256 ?? '').toUpperCase() },
          },
        }),
    createdBy: item.created_by,
    lastModifiedBy: item.modified_by,
    packagePath: placement.packagePath,
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
// Names come from users and imports: a right-to-left override (U+202E) can make "gpj.exe" read
// as "exe.jpg", and control characters can hide text. Bidi overrides, embeddings, isolates and
// marks, C0 and C1 controls are shown as their code point ("[U+202E]") instead of acting.
// eslint-disable-next-line no-control-regex
const INERT = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text for HTML: markup escaped, invisible controls made visible. */
export function esc(s: string | number | boolean | null | undefined): string {
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
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

// Relative links must carry the page's own SAS (the query string it was opened with), or every
// click through a SAS URL would be a 403; from a downloaded copy location.search is empty and
// the links stay plain relative paths.
export const LINK_SCRIPT = `(function(){var q=location.search;if(!q)return;var a=document.querySelectorAll('a[href]');for(var i=0;i<a.length;i++){var h=a[i].getAttribute('href');if(/^([a-z][a-z0-9+.-]*:|\\/|#|\\?)/i.test(h))continue;a[i].setAttribute('href',h+q);}})();`;
export const STYLE =
  'body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}svg.timeline{max-width:720px}td.preview{overflow-wrap:anywhere}';

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * index.html's Content-Security-Policy: its own script and stylesheet by hash and nothing else
 * (no other script, no inline handler or style attribute, no fetch, frame, form or base URL).
 * A name that slipped through escaping could still not run. Exported for the tests.
 */
export const INDEX_CSP =
  `default-src 'none'; script-src ${cspHash(LINK_SCRIPT)}; style-src ${cspHash(STYLE)}; ` +
  "img-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'";

/** What index.html says about the CSV files (the package's description of them). */
export const CSV_NOTE =
  "In the CSV files, a cell that starts with =, +, -, @, a tab or a carriage return is written with a leading apostrophe (') so that a spreadsheet shows it as text instead of running it as a formula.";

/** manifest.json as verify reads it. */
export interface PackageManifest {
  schemaVersion: string;
  operation: { id: string };
  generatedDateTime: string;
  totals: Record<string, number>;
  files: { path: string; size: number; sha256: string; contentType: string }[];
}
