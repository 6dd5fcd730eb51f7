import { GraphError } from '../graph-error.ts';
import { GUID_SOURCE, graphDateTime } from './formats.ts';
import { bidiControlIn } from './unsafe-text.ts';

/** A drive item as stored (002_tenant_data.sql). */
export interface DriveItemRow {
  tenant_id: string;
  id: string;
  owner_user_id: string;
  parent_id: string | null;
  name: string;
  is_folder: boolean;
  size: number;
  mime_type: string | null;
  content_sha256: string | null;
  created_at: Date;
  modified_at: Date;
  created_by: IdentitySet;
  modified_by: IdentitySet;
}

/** A row with what the Graph shape needs besides it. */
export interface DriveItemView extends DriveItemRow {
  /** Names from below the root down to the item itself; [] for the root. */
  path: string[];
  child_count: number;
  /** A file's size, or the total of the files below a folder. */
  total_size: number;
  /** OneDrive's quickXorHash (base64) of a file's content; null for folders and older content. */
  quick_xor_hash: string | null;
}

/** Graph identitySet: exactly one of user or application. */
export type IdentitySet = { user: { id: string; displayName: string | null } } | { application: { id: string; displayName: string | null } };

export type DriveActivityType = 'FileUploaded' | 'FileModified' | 'FileAccessed' | 'FileDownloaded' | 'FileDeleted' | 'FolderCreated';

/** OneDrive's limit for a simple upload; larger files go through an upload session. */
export const SIMPLE_UPLOAD_MAX_BYTES = 250 * 1024 * 1024;
/** OneDrive refuses fragments over 60 MiB. */
export const UPLOAD_FRAGMENT_MAX_BYTES = 60 * 1024 * 1024;
export const UPLOAD_SESSION_LIFETIME_SECONDS = 24 * 3600;
/** The quota a drive reports: OneDrive for Business's default of 1 TB (not enforced here). */
export const DRIVE_QUOTA_BYTES = 1024 ** 4;
export const ROOT_NAME = 'root';
const MAX_NAME_LENGTH = 255;
// OneDrive for Business limits the decoded path below the root to 400 characters.
const MAX_PATH_LENGTH = 400;

// eslint-disable-next-line no-control-regex -- control characters are what this pattern refuses
const FORBIDDEN_CHARACTERS = /["*:<>?/\\|\u0000-\u001f]/;
const RESERVED_NAMES = new Set([
  'con',
  'prn',
  'aux',
  'nul',
  '.lock',
  'desktop.ini',
  ...Array.from({ length: 10 }, (_, i) => `com${i}`),
  ...Array.from({ length: 10 }, (_, i) => `lpt${i}`),
]);

/** OneDrive's naming rules; every violation is a 400 `invalidRequest` naming the rule. */
export function validateItemName(name: string): void {
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  if (name.length === 0) throw GraphError.invalidRequest('The name of a drive item cannot be empty.');
  if (name.length > MAX_NAME_LENGTH) throw GraphError.invalidRequest(`The name ${shown} is longer than ${MAX_NAME_LENGTH} characters.`);
  const bad = FORBIDDEN_CHARACTERS.exec(name);
  if (bad) {
    const ch = bad[0].charCodeAt(0) < 0x20 ? `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}` : `'${bad[0]}'`;
    throw GraphError.invalidRequest(`The name ${shown} contains the invalid character ${ch}; names cannot contain " * : < > ? / \\ |.`);
  }
  const bidi = bidiControlIn(name);
  if (bidi) throw GraphError.invalidRequest(`The name ${shown} contains the bidirectional control character ${bidi}, which can disguise a name.`);
  if (name.startsWith(' ')) throw GraphError.invalidRequest(`The name ${shown} cannot begin with a space.`);
  if (name.endsWith(' ') || name.endsWith('.')) throw GraphError.invalidRequest(`The name ${shown} cannot end with a space or a period.`);
  if (RESERVED_NAMES.has(name.toLowerCase())) throw GraphError.invalidRequest(`The name ${shown} is reserved and cannot be used.`);
  if (name.toLowerCase().includes('_vti_')) throw GraphError.invalidRequest(`The name ${shown} cannot contain "_vti_".`);
}

/** `@microsoft.graph.conflictBehavior` when the name is taken: replace (uploads' default), fail, or rename. */
export type ConflictBehavior = 'replace' | 'fail' | 'rename';

/**
 * OneDrive's rename: `name (1).ext`, `name (2).ext`, … (before the last dot; a name without an
 * extension, or a leading-dot name, gets the number at its end).
 */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}

export type DrivePathAction = 'item' | 'content' | 'createUploadSession';

export interface DrivePath {
  /** Decoded, validated names below the anchor; [] is the anchor itself. */
  segments: string[];
  action: DrivePathAction;
  /** The item the path starts from (`items/{id}:/…`); undefined: the root (`root:/…`). */
  anchorId?: string;
}

const DRIVE_PATH_MARKER = new RegExp(`/drive/(?:root|items/(${GUID_SOURCE}))(?::|%3A)`, 'i');

/**
 * Parses the `root:/{path}[:[/content|/createUploadSession]]` and `items/{id}:/{path}…`
 * addressing from the raw request URL. It works on the still-encoded text so that an encoded '/'
 * (%2F) stays inside its name, where the name rules refuse it, instead of silently becoming a
 * folder separator.
 */
export function parseDrivePath(rawUrl: string): DrivePath {
  const pathPart = rawUrl.split('?')[0]!;
  const marker = DRIVE_PATH_MARKER.exec(pathPart);
  if (!marker) throw GraphError.invalidRequest('Expected a path of the form root:/{path} or items/{id}:/{path}.');
  const anchor = marker[1] === undefined ? {} : { anchorId: marker[1].toLowerCase() };
  let rest = pathPart.slice(marker.index + marker[0].length);
  let action: DrivePathAction = 'item';
  const suffix = /(?::|%3A)(\/content|\/createUploadSession)?\/?$/i.exec(rest);
  if (suffix) {
    const op = suffix[1]?.toLowerCase();
    action = op === '/content' ? 'content' : op === '/createuploadsession' ? 'createUploadSession' : 'item';
    rest = rest.slice(0, suffix.index);
  }
  if (rest === '' || rest === '/') return { segments: [], action, ...anchor };
  if (!rest.startsWith('/')) throw GraphError.invalidRequest('Expected a path of the form root:/{path}.');
  const raw = rest.slice(1).replace(/\/$/, '').split('/');
  const segments = raw.map((s) => {
    if (s === '') throw GraphError.invalidRequest('The path contains an empty segment (two consecutive slashes).');
    let name: string;
    try {
      name = decodeURIComponent(s);
    } catch {
      throw GraphError.invalidRequest('The path is not correctly percent-encoded.');
    }
    validateItemName(name);
    return name;
  });
  if (segments.join('/').length > MAX_PATH_LENGTH) {
    throw GraphError.invalidRequest(`The path is longer than ${MAX_PATH_LENGTH} characters.`);
  }
  return { segments, action, ...anchor };
}

/** `/Folder/file.txt` (the root is `/`): the item path kept in activity records. */
export function itemPathText(segments: readonly string[]): string {
  return `/${segments.join('/')}`;
}

const MIME_BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain',
  csv: 'text/csv',
  md: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
  xml: 'application/xml',
  json: 'application/json',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

/** OneDrive derives a file's mimeType from its extension, not from the upload's Content-Type. */
export function mimeTypeFor(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 && MIME_BY_EXTENSION[name.slice(dot + 1).toLowerCase()]) || 'application/octet-stream';
}

/** Parsed `Content-Range: bytes {first}-{last}/{total}` of an upload fragment. */
export interface FragmentRange {
  first: number;
  last: number;
  total: number;
}

export function parseContentRange(header: string | undefined): FragmentRange {
  if (header === undefined) {
    throw GraphError.invalidRequest('An upload fragment needs a Content-Range header: bytes {first}-{last}/{total}.');
  }
  const m = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15})$/.exec(header.trim());
  if (!m) throw GraphError.invalidRequest(`Invalid Content-Range "${header.slice(0, 100)}"; expected bytes {first}-{last}/{total}.`);
  const [first, last, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (last < first) throw GraphError.invalidRequest(`Invalid Content-Range "${header}": the last byte comes before the first.`);
  if (last >= total) throw GraphError.invalidRequest(`Invalid Content-Range "${header}": the last byte is beyond the file size ${total}.`);
  return { first, last, total };
}

/** OneDrive's nextExpectedRanges: the open range from the first missing byte. */
export function nextExpectedRanges(nextOffset: number, total: number | null): string[] {
  if (total !== null && nextOffset >= total) return [];
  return [total === null ? `${nextOffset}-` : `${nextOffset}-${total - 1}`];
}

/** `/drive/root:` followed by the parent folder's path, as in parentReference.path. */
function parentReferencePath(parentSegments: readonly string[]): string {
  return parentSegments.length === 0 ? '/drive/root:' : `/drive/root:/${parentSegments.map(encodeURIComponent).join('/')}`;
}

/** The item's eTag: changes with any change of the item (content or metadata). */
export function itemETag(item: DriveItemRow): string {
  return `"{${item.id.toUpperCase()}},${item.modified_at.getTime()}"`;
}

/**
 * The item's cTag: changes only with the content, so it is derived from the content's hash
 * (the same bytes uploaded again keep it). Graph returns no cTag for folders.
 */
export function itemCTag(item: DriveItemRow): string | undefined {
  return item.content_sha256 === null ? undefined : `"c:{${item.id.toUpperCase()}},${item.content_sha256.slice(0, 16)}"`;
}

/**
 * The Graph driveItem. Hashes are as Graph writes them: quickXorHash in base64 (the hash
 * OneDrive for Business documents) and sha256Hash in upper-case hex (this service's content key).
 */
export function toGraphDriveItem(item: DriveItemView): Record<string, unknown> {
  const isRoot = item.parent_id === null;
  const created = graphDateTime(item.created_at);
  const modified = graphDateTime(item.modified_at);
  const out: Record<string, unknown> = {
    id: item.id,
    name: item.name,
    size: item.is_folder ? item.total_size : item.size,
    eTag: itemETag(item),
    ...(item.is_folder ? {} : { cTag: itemCTag(item) }),
    createdDateTime: created,
    lastModifiedDateTime: modified,
    fileSystemInfo: { createdDateTime: created, lastModifiedDateTime: modified },
    parentReference: isRoot
      ? { driveType: 'business', driveId: item.owner_user_id }
      : { driveType: 'business', driveId: item.owner_user_id, id: item.parent_id, path: parentReferencePath(item.path.slice(0, -1)) },
    createdBy: item.created_by,
    lastModifiedBy: item.modified_by,
  };
  if (item.is_folder) {
    out.folder = { childCount: item.child_count };
    if (isRoot) out.root = {};
  } else {
    const sha256Hash = (item.content_sha256 ?? '').toUpperCase();
    out.file = {
      mimeType: item.mime_type ?? 'application/octet-stream',
      hashes: item.quick_xor_hash === null ? { sha256Hash } : { quickXorHash: item.quick_xor_hash, sha256Hash },
    };
  }
  return out;
}

/** `"…"`-quoted ETag of a file's content (its hash: same bytes, same tag, on every process). */
export function contentETag(sha256: string): string {
  return `"${sha256}"`;
}
