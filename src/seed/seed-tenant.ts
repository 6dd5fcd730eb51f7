import { Readable } from 'node:stream';
import type { NewSignIn } from '../domain/sign-in.ts';
import type { ContentStore } from '../content/content-store.ts';
import { inTransaction, type Db } from '../db/pool.ts';
import { insertDirectoryAudit } from '../db/queries/directory-audits.ts';
import {
  countTenantUsers, insertSeedContentBlobs, insertSeedDriveActivities, insertSeedDriveItems,
  type SeedDriveActivity, type SeedDriveItem,
} from '../db/queries/seed.ts';
import { insertSignIns } from '../db/queries/sign-ins.ts';
import { insertUser } from '../db/queries/users.ts';
import type { DirectoryAudit } from '../domain/directory-audit.ts';
import { mimeTypeFor } from '../domain/drive-item.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import {
  COMPANIES, DEPARTMENTS, DEVICE_PROFILES, DOCUMENT_TITLES, FIRST_NAMES, LAST_NAMES, OFFICES, PROJECT_NAMES, type DeviceProfile,
  type Office,
} from './catalog.ts';
import { loadHeavySubject, type HeavyCounts } from './heavy-subject.ts';
import { mapConcurrent } from './map-concurrent.ts';
import { createPrng, type Prng } from './prng.ts';
import { appFor, iso, origin, signInRecord, upnPart } from './sign-in-record.ts';
import { syntheticContent, type FileKind } from './synthetic-content.ts';

export interface SeedTenantOptions {
  readonly db: Db;
  readonly contentStore: ContentStore;
  /** Default: derived from the seed, so the same seed names the same tenant. */
  readonly tenantId?: string;
  readonly users: number;
  readonly filesPerUser: number;
  readonly seed: string | number;
  /** Every record is dated in the 90 days before `now` (users are created earlier). */
  readonly now: Date;
  /** UPN domain; default `<company>.example`, the company picked by the seed. */
  readonly domain?: string;
  /**
   * Extra records for the first user, the heavy subject (streamed in with COPY; see
   * heavy-subject.ts). Files past the first 10,000 of every user go the same way.
   */
  readonly heavy?: Partial<Omit<HeavyCounts, 'files'>> | undefined;
}

export interface SeededUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  files: number;
  folders: number;
  bytes: number;
  driveActivities: number;
  signIns: number;
}

export interface SeedSummary {
  tenantId: string;
  domain: string;
  users: SeededUser[];
  totals: { users: number; files: number; folders: number; bytes: number; driveActivities: number; signIns: number; directoryAudits: number };
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const ACTIVITY_DAYS = 90;
// Puts in flight at once: overlaps one file's fsync with the next file's generation and hashing.
const PUT_CONCURRENCY = 4;
const MAX_USERS = 100_000;
const MAX_FILES_PER_USER = 1_000_000;
// Files up to this many per user get the full treatment (varied kinds and sizes, activity of their
// own); the rest are small text files streamed in by the heavy loader, so memory stays flat.
const ORDINARY_FILES_PER_USER = 10_000;

const FILE_KINDS: readonly (readonly [FileKind, number])[] = [['txt', 3], ['md', 2], ['csv', 2], ['json', 1], ['png', 3], ['pdf', 2]];
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

interface Profile {
  index: number;
  id: string;
  givenName: string;
  surname: string;
  displayName: string;
  userPrincipalName: string;
  department: string;
  jobTitle: string;
  office: Office;
  officeIndex: number;
  createdAt: number;
  homeIp: string;
  desktop: DeviceProfile;
  mobile: DeviceProfile;
  deviceId: string;
  prng: Prng;
}

interface Folder {
  id: string;
  path: string[];
  createdAt: number;
  kind: 'root' | 'documents' | 'pictures' | 'projects' | 'project' | 'archive' | 'camera';
  item: SeedDriveItem;
}

/**
 * Builds a deterministic synthetic tenant: users with realistic profiles, a OneDrive per user
 * (folder tree and files of varied types and sizes, bodies through the content store), 90 days
 * of drive activity and sign-ins, and an "Add user" directory audit per user. The same seed and
 * `now` give the same rows (ids included) and the same content hashes on every machine; every
 * part of the tenant draws from its own PRNG stream, so user 3 is the same whether 5 or 50 users
 * are seeded. Runs in one transaction into an empty tenant (bodies written to the content store
 * before a failure stay there, unreferenced; they are content-addressed and harmless).
 */
export async function seedTenant(opts: SeedTenantOptions): Promise<SeedSummary> {
  if (!Number.isInteger(opts.users) || opts.users < 0 || opts.users > MAX_USERS) throw new Error(`users must be an integer from 0 to ${MAX_USERS}`);
  if (!Number.isInteger(opts.filesPerUser) || opts.filesPerUser < 0 || opts.filesPerUser > MAX_FILES_PER_USER) {
    throw new Error(`filesPerUser must be an integer from 0 to ${MAX_FILES_PER_USER}`);
  }
  if (opts.tenantId !== undefined && !GUID_PATTERN.test(opts.tenantId)) throw new Error(`tenant "${opts.tenantId}" is not a GUID`);
  if (Number.isNaN(opts.now.getTime())) throw new Error('now is not a valid date');
  const root = createPrng(`dsr-export-seed:${String(opts.seed)}`);
  const tenantId = opts.tenantId?.toLowerCase() ?? root.fork('tenant').uuid();
  const domain = (opts.domain ?? `${root.fork('company').pick(COMPANIES)}.example`).toLowerCase();
  // Whole seconds, as sign-in and audit logs show them.
  const now = Math.floor(opts.now.getTime() / 1000) * 1000;
  const seeder = { appId: root.fork('seed-app').uuid(), servicePrincipalId: root.fork('seed-sp').uuid() };
  const profiles = planProfiles(root, opts.users, domain, now);

  return inTransaction(opts.db, async (tx) => {
    if ((await countTenantUsers(tx, tenantId)) > 0) {
      throw new Error(`tenant ${tenantId} already has users; seed into an empty tenant (another --seed or --tenant)`);
    }
    const seeded: SeededUser[] = [];
    for (const profile of profiles) {
      await insertUser(tx, tenantId, profile.id, {
        user_principal_name: profile.userPrincipalName,
        display_name: profile.displayName,
        given_name: profile.givenName,
        surname: profile.surname,
        mail: profile.userPrincipalName,
        job_title: profile.jobTitle,
        department: profile.department,
        office_location: `${profile.office.name} ${profile.prng.int(1, 9)}/${profile.prng.int(1000, 4999)}`,
        mobile_phone: `+1 555 01${String(profile.prng.int(0, 99)).padStart(2, '0')}`,
        business_phones: [`${profile.office.phonePrefix} ${String(profile.prng.int(100, 9999)).padStart(4, '0')}`],
        preferred_language: profile.office.language,
        account_enabled: true,
      }, new Date(profile.createdAt));
      await insertDirectoryAudit(tx, addUserAudit(tenantId, profile, seeder));

      const drive = await buildDrive(profile, profiles, Math.min(opts.filesPerUser, ORDINARY_FILES_PER_USER), now, opts.contentStore);
      await insertSeedContentBlobs(tx, drive.blobs, new Date(now));
      await insertSeedDriveItems(tx, tenantId, drive.items);
      await insertSeedDriveActivities(tx, tenantId, drive.activities);
      const signIns = buildSignIns(profile, now);
      await insertSignIns(tx, tenantId, signIns);
      const extra = profile.index === 0 ? opts.heavy ?? {} : {};
      const counts: HeavyCounts = {
        signIns: extra.signIns ?? 0, driveEvents: extra.driveEvents ?? 0, driveItems: extra.driveItems ?? 0,
        files: Math.max(0, opts.filesPerUser - ORDINARY_FILES_PER_USER),
      };
      const heavy = await loadHeavySubject(tx, {
        tenantId, person: profile, rootId: drive.items[0]!.id, items: drive.filePaths, prng: profile.prng.fork('heavy'), now, counts,
        contentStore: opts.contentStore,
      });
      seeded.push({
        id: profile.id, userPrincipalName: profile.userPrincipalName, displayName: profile.displayName,
        files: drive.files + heavy.files, folders: drive.folders + heavy.folders, bytes: drive.bytes + heavy.bytes,
        driveActivities: drive.activities.length + heavy.driveEvents, signIns: signIns.length + heavy.signIns,
      });
    }
    const sum = (f: (u: SeededUser) => number) => seeded.reduce((s, u) => s + f(u), 0);
    return {
      tenantId, domain, users: seeded,
      totals: {
        users: seeded.length, files: sum((u) => u.files), folders: sum((u) => u.folders), bytes: sum((u) => u.bytes),
        driveActivities: sum((u) => u.driveActivities), signIns: sum((u) => u.signIns), directoryAudits: seeded.length,
      },
    };
  });
}

function planProfiles(root: Prng, count: number, domain: string, now: number): Profile[] {
  const taken = new Set<string>();
  const profiles: Profile[] = [];
  for (let index = 0; index < count; index++) {
    const prng = root.fork(`user/${index}`);
    const givenName = prng.pick(FIRST_NAMES);
    const surname = prng.pick(LAST_NAMES);
    const base = `${upnPart(givenName)}.${upnPart(surname)}`;
    let local = base;
    for (let n = 2; taken.has(local); n++) local = `${base}${n}`;
    taken.add(local);
    const [department, titles] = prng.pick(DEPARTMENTS);
    const officeIndex = prng.int(0, OFFICES.length - 1);
    profiles.push({
      index, prng, givenName, surname, department, officeIndex,
      id: prng.uuid(),
      displayName: `${givenName} ${surname}`,
      userPrincipalName: `${local}@${domain}`,
      jobTitle: prng.pick(titles),
      office: OFFICES[officeIndex]!,
      createdAt: now - prng.int(120, 720) * DAY_MS - prng.int(0, 86_399) * 1000,
      homeIp: `198.51.100.${prng.int(1, 254)}`,
      desktop: DEVICE_PROFILES[prng.int(0, 3)]!,
      mobile: DEVICE_PROFILES[prng.int(4, 5)]!,
      deviceId: prng.uuid(),
    });
  }
  return profiles;
}

function addUserAudit(tenantId: string, p: Profile, seeder: { appId: string; servicePrincipalId: string }): DirectoryAudit {
  // directory_audits ids are unique across tenants: the same seed into two tenants must not collide.
  const prng = p.prng.fork(`audit/${tenantId}`);
  return {
    id: prng.uuid(),
    tenantId,
    activityAt: new Date(p.createdAt),
    category: 'UserManagement',
    activityDisplayName: 'Add user',
    operationType: 'Add',
    result: 'success',
    resultReason: '',
    correlationId: prng.uuid(),
    initiatedBy: { app: { appId: seeder.appId, displayName: 'dsr-export seed', servicePrincipalId: seeder.servicePrincipalId, servicePrincipalName: null }, user: null },
    targetResources: [{
      id: p.id, displayName: p.displayName, type: 'User', userPrincipalName: p.userPrincipalName, groupType: null,
      modifiedProperties: ['userPrincipalName', 'displayName', 'jobTitle', 'department'].map((displayName) => ({ displayName, oldValue: null, newValue: null })),
    }],
    initiatorUserId: null,
    targetUserId: p.id,
    additionalDetails: [{ key: 'seed', value: 'synthetic tenant' }],
  };
}

const userIdentity = (p: Profile) => ({ user: { id: p.id, displayName: p.displayName } });

/** A time between `from` and `to` (ms), whole seconds. */
function between(prng: Prng, from: number, to: number): number {
  return from + Math.floor(prng.next() * Math.max(0, to - from) / 1000) * 1000;
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

async function buildDrive(p: Profile, everyone: readonly Profile[], fileCount: number, now: number, store: ContentStore) {
  const prng = p.prng.fork('drive');
  const windowStart = now - ACTIVITY_DAYS * DAY_MS;
  const owner = userIdentity(p);
  const folders: Folder[] = [];
  const names = new Map<string, Set<string>>();
  const activities: SeedDriveActivity[] = [];

  const activity = (type: string, at: number, item: { id: string; path: string[] }, actor: Profile, evPrng: Prng): void => {
    const { ip, device } = origin(actor, evPrng);
    activities.push({
      id: evPrng.uuid(), user_id: p.id, activity_at: iso(at), activity_type: type, actor: userIdentity(actor),
      item_id: item.id, item_path: `/${item.path.join('/')}`, client_ip: ip, user_agent: device.userAgent, app_id: appFor(device).appId,
    });
  };
  const folder = (name: string, parent: Folder | undefined, kind: Folder['kind'], createdAt: number): Folder => {
    const id = prng.uuid();
    const taken = parent ? names.get(parent.id)! : new Set<string>();
    const unique = parent ? uniqueName(name, taken) : name;
    names.set(id, new Set());
    const f: Folder = {
      id, kind, createdAt, path: parent ? [...parent.path, unique] : [],
      item: {
        id, owner_user_id: p.id, parent_id: parent?.id ?? null, name: unique, is_folder: true, size: 0, mime_type: null,
        content_sha256: null, created_at: iso(createdAt), modified_at: iso(createdAt), created_by: owner, modified_by: owner,
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

  interface PlannedFile { item: SeedDriveItem; path: string; kind: FileKind; target: number; contentSeed: Prng; title: string }
  const planned: PlannedFile[] = [];
  for (let j = 0; j < fileCount; j++) {
    const fp = p.prng.fork(`file/${j}`);
    const kind = fp.weighted(FILE_KINDS);
    const parent = fp.pick(kind === 'png' ? imageFolders : documentFolders);
    const createdAt = between(fp, parent.createdAt + 60_000, now - HOUR_MS);
    const name = uniqueName(fileName(kind, fp, createdAt), names.get(parent.id)!);
    const path = [...parent.path, name];
    const item: SeedDriveItem = {
      id: fp.uuid(), owner_user_id: p.id, parent_id: parent.id, name, is_folder: false, size: 0, mime_type: mimeTypeFor(name),
      content_sha256: null, created_at: iso(createdAt), modified_at: iso(createdAt), created_by: owner, modified_by: owner,
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
    for (const [type, max] of [['FileAccessed', 4], ['FileDownloaded', 2]] as const) {
      for (let k = fp.int(0, max); k > 0; k--) {
        // Now and then a colleague opens a shared file: the record is still about this drive's owner.
        const actor = colleagues.length > 0 && fp.chance(0.15) ? fp.pick(colleagues) : p;
        activity(type, between(fp, createdAt + 60_000, now - 60_000), { id: item.id, path }, actor, fp);
      }
    }
    planned.push({ item, path: `/${path.join('/')}`, kind, target: logSize(fp, SIZE_RANGES[kind]), contentSeed: fp.fork('content'), title: name.replace(/\.[^.]+$/, '') });
  }

  const stored = await mapConcurrent(planned, PUT_CONCURRENCY, (f) =>
    store.put(Readable.from(syntheticContent(f.kind, f.target, f.contentSeed, f.title, now), { objectMode: false })));
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

/** Weekday working-hours sign-ins (1–3 a day, rarely at weekends) over the last 90 days, ~7 % failing. */
function buildSignIns(p: Profile, now: number): NewSignIn[] {
  const prng = p.prng.fork('sign-ins');
  const windowStart = now - ACTIVITY_DAYS * DAY_MS;
  const out: NewSignIn[] = [];
  for (let day = 0; day < ACTIVITY_DAYS; day++) {
    const dayStart = Math.floor((windowStart + day * DAY_MS) / DAY_MS) * DAY_MS;
    const weekday = new Date(dayStart).getUTCDay();
    const count = weekday >= 1 && weekday <= 5 ? prng.int(1, 3) : prng.chance(0.25) ? 1 : 0;
    for (let k = 0; k < count; k++) {
      const at = between(prng, dayStart + 7 * HOUR_MS, dayStart + 19 * HOUR_MS);
      if (at <= windowStart || at >= now) continue;
      out.push(signInRecord(p, prng, at));
    }
  }
  return out;
}
