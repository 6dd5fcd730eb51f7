import { Readable } from 'node:stream';
import type { ContentStore } from '../content/content-store.ts';
import type { SeedDriveActivity, SeedDriveItem } from '../db/queries/seed.ts';
import { mimeTypeFor } from '../domain/drive-item.ts';
import { ACTIVITY_DAYS, between, DAY_MS, HOUR_MS } from './activity-window.ts';
import { DOCUMENT_TITLES, PROJECT_NAMES } from './catalog.ts';
import { mapConcurrent } from './map-concurrent.ts';
import type { Prng } from './prng.ts';
import { userIdentity, type SeedProfile } from './seed-users.ts';
import { appFor, iso, origin } from './sign-in-record.ts';
import { syntheticContent, type FileKind } from './synthetic-content.ts';

// Puts in flight at once: overlaps one file's fsync with the next file's generation and hashing.
const PUT_CONCURRENCY = 4;

const FILE_KINDS: readonly (readonly [FileKind, number])[] = [
  ['txt', 3],
  ['md', 2],
  ['csv', 2],
  ['json', 1],
  ['png', 3],
  ['pdf', 2],
];
// Target sizes per kind: [min, max] bytes, and a skew (>1 favours the small end) so that most
// files are small and a few reach several MiB, as in real drives.
const SIZE_RANGES: Record<FileKind, readonly [number, number, number]> = {
  txt: [12, 48 * 1024, 1.5],
  md: [200, 64 * 1024, 1.5],
  csv: [300, 768 * 1024, 2],
  json: [200, 512 * 1024, 2],
  png: [4 * 1024, 4 * 1024 * 1024, 2],
  pdf: [12 * 1024, 6 * 1024 * 1024, 2.5],
};

interface Folder {
  id: string;
  path: string[];
  createdAt: number;
  kind: 'root' | 'documents' | 'pictures' | 'projects' | 'project' | 'archive' | 'camera';
  item: SeedDriveItem;
}

function logSize(prng: Prng, [min, max, skew]: readonly [number, number, number]): number {
  return Math.round(min * (max / min) ** (prng.next() ** skew));
}

function fileName(kind: FileKind, prng: Prng, createdAt: number): string {
  const day = iso(createdAt).slice(0, 10);
  switch (kind) {
    case 'png':
      return prng.chance(0.6) ? `IMG_${prng.int(1000, 9999)}.png` : `Screenshot ${day} ${iso(createdAt).slice(11, 19).replace(/:/g, '')}.png`;
    case 'csv':
      return `${prng.pick(['Budget', 'Sales forecast', 'Inventory', 'Expenses', 'Headcount', 'Pipeline'])} Q${prng.int(1, 4)} ${day.slice(0, 4)}.csv`;
    case 'json':
      return `${prng.pick(['config', 'export', 'settings', 'data', 'manifest', 'survey-results'])}${prng.chance(0.5) ? `-${prng.int(1, 99)}` : ''}.json`;
    default:
      return `${prng.pick(DOCUMENT_TITLES)}${prng.chance(0.5) ? ` ${day}` : prng.chance(0.5) ? ` v${prng.int(2, 9)}` : ''}.${kind}`;
  }
}

/** "Budget.csv" taken in the folder → "Budget (2).csv", as OneDrive renames on conflict. */
function uniqueName(name: string, taken: Set<string>): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  let candidate = name;
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${ext}`;
  taken.add(candidate.toLowerCase());
  return candidate;
}

/**
 * A user's OneDrive: a folder tree (Documents, Pictures, Projects and some of their subfolders),
 * `fileCount` files of varied kinds and sizes with their bodies put through the content store,
 * and the drive activity of each (upload, edits, opens and downloads, some by colleagues).
 * Rows are returned for the caller's transaction; bodies are already in the store.
 */
export async function buildDrive(p: SeedProfile, everyone: readonly SeedProfile[], fileCount: number, now: number, store: ContentStore) {
  const prng = p.prng.fork('drive');
  const windowStart = now - ACTIVITY_DAYS * DAY_MS;
  const owner = userIdentity(p);
  const folders: Folder[] = [];
  const names = new Map<string, Set<string>>();
  const activities: SeedDriveActivity[] = [];

  const activity = (type: string, at: number, item: { id: string; path: string[] }, actor: SeedProfile, evPrng: Prng): void => {
    const { ip, device } = origin(actor, evPrng);
    activities.push({
      id: evPrng.uuid(),
      user_id: p.id,
      activity_at: iso(at),
      activity_type: type,
      actor: userIdentity(actor),
      item_id: item.id,
      item_path: `/${item.path.join('/')}`,
      client_ip: ip,
      user_agent: device.userAgent,
      app_id: appFor(device).appId,
    });
  };
  const folder = (name: string, parent: Folder | undefined, kind: Folder['kind'], createdAt: number): Folder => {
    const id = prng.uuid();
    const taken = parent ? names.get(parent.id)! : new Set<string>();
    const unique = parent ? uniqueName(name, taken) : name;
    names.set(id, new Set());
    const f: Folder = {
      id,
      kind,
      createdAt,
      path: parent ? [...parent.path, unique] : [],
      item: {
        id,
        owner_user_id: p.id,
        parent_id: parent?.id ?? null,
        name: unique,
        is_folder: true,
        size: 0,
        mime_type: null,
        content_sha256: null,
        created_at: iso(createdAt),
        modified_at: iso(createdAt),
        created_by: owner,
        modified_by: owner,
      },
    };
    folders.push(f);
    // The root comes with the drive; every other folder is an act of its owner.
    if (parent) activity('FolderCreated', createdAt, f, p, prng);
    return f;
  };

  const rootFolder = folder('root', undefined, 'root', p.createdAt + HOUR_MS);
  const documents = folder('Documents', rootFolder, 'documents', between(prng, windowStart, windowStart + 3 * HOUR_MS));
  const pictures = folder('Pictures', rootFolder, 'pictures', between(prng, windowStart, windowStart + 3 * HOUR_MS));
  const projects = folder('Projects', rootFolder, 'projects', between(prng, windowStart, windowStart + 3 * HOUR_MS));
  const projectNames = [...PROJECT_NAMES];
  for (let n = prng.int(1, 3); n > 0; n--) {
    const name = projectNames.splice(prng.int(0, projectNames.length - 1), 1)[0]!;
    folder(name, projects, 'project', between(prng, projects.createdAt + HOUR_MS, windowStart + 60 * DAY_MS));
  }
  if (prng.chance(0.5)) folder('Archive', documents, 'archive', between(prng, documents.createdAt + HOUR_MS, windowStart + 30 * DAY_MS));
  if (prng.chance(0.5)) folder('Camera Roll', pictures, 'camera', between(prng, pictures.createdAt + HOUR_MS, windowStart + 30 * DAY_MS));

  const imageFolders = folders.filter((f) => f.kind === 'pictures' || f.kind === 'camera');
  const documentFolders = folders.filter((f) => f.kind === 'documents' || f.kind === 'archive' || f.kind === 'project');
  const colleagues = everyone.filter((o) => o.id !== p.id);

  interface PlannedFile {
    item: SeedDriveItem;
    path: string;
    kind: FileKind;
    target: number;
    contentSeed: Prng;
    title: string;
  }
  const planned: PlannedFile[] = [];
  for (let j = 0; j < fileCount; j++) {
    const fp = p.prng.fork(`file/${j}`);
    const kind = fp.weighted(FILE_KINDS);
    const parent = fp.pick(kind === 'png' ? imageFolders : documentFolders);
    const createdAt = between(fp, parent.createdAt + 60_000, now - HOUR_MS);
    const name = uniqueName(fileName(kind, fp, createdAt), names.get(parent.id)!);
    const path = [...parent.path, name];
    const item: SeedDriveItem = {
      id: fp.uuid(),
      owner_user_id: p.id,
      parent_id: parent.id,
      name,
      is_folder: false,
      size: 0,
      mime_type: mimeTypeFor(name),
      content_sha256: null,
      created_at: iso(createdAt),
      modified_at: iso(createdAt),
      created_by: owner,
      modified_by: owner,
    };
    activity('FileUploaded', createdAt, { id: item.id, path }, p, fp);
    let modifiedAt = createdAt;
    if (kind !== 'png' && fp.chance(0.35)) {
      for (let k = fp.int(1, 3); k > 0; k--) {
        modifiedAt = between(fp, modifiedAt + 60_000, now - 10 * 60_000);
        activity('FileModified', modifiedAt, { id: item.id, path }, p, fp);
      }
      item.modified_at = iso(modifiedAt);
    }
    for (const [type, max] of [
      ['FileAccessed', 4],
      ['FileDownloaded', 2],
    ] as const) {
      for (let k = fp.int(0, max); k > 0; k--) {
        // Now and then a colleague opens a shared file: the record is still about this drive's owner.
        const actor = colleagues.length > 0 && fp.chance(0.15) ? fp.pick(colleagues) : p;
        activity(type, between(fp, createdAt + 60_000, now - 60_000), { id: item.id, path }, actor, fp);
      }
    }
    planned.push({
      item,
      path: `/${path.join('/')}`,
      kind,
      target: logSize(fp, SIZE_RANGES[kind]),
      contentSeed: fp.fork('content'),
      title: name.replace(/\.[^.]+$/, ''),
    });
  }

  const stored = await mapConcurrent(planned, PUT_CONCURRENCY, (f) =>
    store.put(Readable.from(syntheticContent(f.kind, f.target, f.contentSeed, f.title, now), { objectMode: false })),
  );
  const blobs = new Map<string, number>();
  let bytes = 0;
  planned.forEach((f, i) => {
    const { sha256, size } = stored[i]!;
    f.item.size = size;
    f.item.content_sha256 = sha256;
    blobs.set(sha256, size);
    bytes += size;
  });
  // Folders keep size 0, as the drive routes store them: a total written here would go stale at
  // the first upload through the API.
  return {
    items: [...folders.map((f) => f.item), ...planned.map((f) => f.item)],
    activities,
    blobs: [...blobs].map(([sha256, size]) => ({ sha256, size })),
    filePaths: planned.map((f) => ({ id: f.item.id, path: f.path })),
    files: planned.length,
    folders: folders.length,
    bytes,
  };
}
