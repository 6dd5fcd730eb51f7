import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ContentStore } from '../content/content-store.ts';
import { insertSeedContentBlobs, insertSeedDriveItems, type SeedDriveItem } from '../db/queries/seed.ts';
import type { DriveActivityType } from '../domain/drive-item.ts';
import { mimeTypeFor } from '../domain/drive-item.ts';
import type { Prng } from './prng.ts';
import { mapConcurrent } from './map-concurrent.ts';
import { appFor, iso, origin, signInRecord, type SeedPerson } from './sign-in-record.ts';
import { syntheticContent } from './synthetic-content.ts';

// A heavy subject: one user with as many sign-ins, drive events and drive items as asked (a
// million each in well under a minute), for exports and benchmarks at scale. Rows are generated
// as they are sent and streamed into COPY … FROM STDIN, so memory stays flat in the count; files
// with bodies of their own go in batches through the content store. Deterministic: the same
// seed, subject and counts give the same rows.

export interface HeavyCounts {
  /** Sign-ins, spread over the last three years. */
  readonly signIns: number;
  /** Drive activity records about the subject's items (mostly FileAccessed, as metadata reads are). */
  readonly driveEvents: number;
  /** Files sharing a few small bodies (metadata-heavy), in folders of 1,000 under `Records`. */
  readonly driveItems: number;
  /** Files each with a small body of its own, in folders of 1,000 under `Files`. */
  readonly files: number;
}

export interface HeavySubjectOptions {
  readonly tenantId: string;
  readonly person: SeedPerson;
  /** The subject's drive root (the heavy folders go under it). */
  readonly rootId: string;
  /** Items drive events may name besides the heavy ones (the subject's ordinary files). */
  readonly items: readonly { id: string; path: string }[];
  readonly prng: Prng;
  /** Records are dated in the three years before `now` (ms). */
  readonly now: number;
  readonly counts: HeavyCounts;
  readonly contentStore: ContentStore;
}

export interface HeavySummary {
  signIns: number;
  driveEvents: number;
  files: number;
  folders: number;
  bytes: number;
}

export const MAX_HEAVY_RECORDS = 10_000_000;
const SPAN_MS = 3 * 365 * 86_400_000;
const PER_FOLDER = 1000;
// Rows per chunk handed to COPY: large enough to keep the stream cheap, small enough to stay flat.
const ROWS_PER_CHUNK = 500;
const SHARED_BODIES = 8;
const FILE_BATCH = 500;
const PUT_CONCURRENCY = 4;
const EVENT_TYPES: readonly (readonly [DriveActivityType, number])[] = [
  ['FileAccessed', 70],
  ['FileDownloaded', 12],
  ['FileModified', 12],
  ['FileUploaded', 6],
];

/** COPY text format: backslash, tab and line breaks escaped; null as \N. */
function field(value: string | number | boolean | null): string {
  if (value === null) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function row(values: readonly (string | number | boolean | null)[]): string {
  return `${values.map(field).join('\t')}\n`;
}

/** Streams `count` generated rows into `COPY <target> FROM STDIN` on this client. */
async function copyRows(client: pg.PoolClient, target: string, count: number, make: (i: number) => string): Promise<void> {
  if (count === 0) return;
  function* chunks(): Generator<string> {
    for (let i = 0; i < count; i += ROWS_PER_CHUNK) {
      let chunk = '';
      for (let j = i; j < Math.min(count, i + ROWS_PER_CHUNK); j++) chunk += make(j);
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(`copy ${target} from stdin`)));
}

/** A stable GUID for the n-th heavy object of a kind: ids are computed, never kept in memory. */
function heavyId(scope: string, kind: string, n: number): string {
  const h = createHash('sha256').update(`${scope}\u0000${kind}\u0000${n}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Where the n-th item of a heavy tree lives: folder `<top>/Batch 0001`, file `Record 000001.txt`. */
function heavyPlace(top: string, n: number): { folder: number; name: string; path: string } {
  const folder = Math.floor(n / PER_FOLDER);
  const name = `${top === 'Records' ? 'Record' : 'File'} ${pad(n + 1, 7)}.txt`;
  return { folder, name, path: `/${top}/Batch ${pad(folder + 1, 4)}/${name}` };
}

/** Loads the heavy part of one subject inside the caller's transaction. */
export async function loadHeavySubject(client: pg.PoolClient, opts: HeavySubjectOptions): Promise<HeavySummary> {
  const { counts, person: p, tenantId } = opts;
  for (const [name, n] of Object.entries(counts)) {
    if (!Number.isInteger(n) || n < 0 || n > MAX_HEAVY_RECORDS) throw new Error(`${name} must be an integer from 0 to ${MAX_HEAVY_RECORDS}`);
  }
  if (Object.values(counts).every((n) => n === 0)) return { signIns: 0, driveEvents: 0, files: 0, folders: 0, bytes: 0 };
  const scope = `${tenantId}/${p.id}/${opts.prng.fork('heavy-scope').uuid()}`;
  const windowStart = opts.now - SPAN_MS;
  const owner = JSON.stringify({ user: { id: p.id, displayName: p.displayName } });
  const at = (prng: Prng) => windowStart + Math.floor(prng.next() * (SPAN_MS / 1000)) * 1000;
  // The n-th of `count` records at a random second of the n-th of `count` equal slots of the
  // window, newest first or oldest first: rows that come in the order of a table's time index
  // are added at that index's end instead of all over it (PostgreSQL appends to the rightmost
  // leaf without a descent): 12 % less PostgreSQL CPU and 11–14 % more rows/s for 200,000
  // records (sign-ins and drive activity) in an A/B of two rounds each.
  const ordered = (prng: Prng, n: number, count: number, newestFirst: boolean) =>
    windowStart + Math.floor(((newestFirst ? count - 1 - n : n) + prng.next()) * (SPAN_MS / 1000 / count)) * 1000;
  const summary: HeavySummary = { signIns: counts.signIns, driveEvents: counts.driveEvents, files: 0, folders: 0, bytes: 0 };

  // Folders: `<top>` under the root, then one `Batch nnnn` per 1,000 files.
  const folderRows = async (top: string, files: number): Promise<void> => {
    if (files === 0) return;
    const batches = Math.ceil(files / PER_FOLDER);
    const created = iso(windowStart);
    const topId = heavyId(scope, top, -1);
    await copyRows(
      client,
      'drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, mime_type, content_sha256, created_at, modified_at, created_by, modified_by)',
      batches + 1,
      (i) =>
        i === 0
          ? row([tenantId, topId, p.id, opts.rootId, top, true, 0, null, null, created, created, owner, owner])
          : row([tenantId, heavyId(scope, `${top}/folder`, i - 1), p.id, topId, `Batch ${pad(i, 4)}`, true, 0, null, null, created, created, owner, owner]),
    );
    summary.folders += batches + 1;
    // The foreign-key check of every row (its parent folder) runs a plan cached per connection,
    // made when drive_items is still empty on a fresh database: an index scan on the tenant
    // alone, which rescans every row loaded so far (50,000 items would take minutes). Fresh
    // statistics (this transaction's own rows count) replace that plan with the primary key's.
    await client.query('analyze drive_items');
  };

  // Records: metadata-heavy files sharing a handful of small bodies.
  if (counts.driveItems > 0) {
    const shared = await putBodies(opts.contentStore, opts.prng.fork('heavy-shared'), SHARED_BODIES, opts.now);
    await insertSeedContentBlobs(client, shared, new Date(opts.now));
    await folderRows('Records', counts.driveItems);
    const prng = opts.prng.fork('heavy-records');
    await copyRows(
      client,
      'drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, mime_type, content_sha256, created_at, modified_at, created_by, modified_by)',
      counts.driveItems,
      (n) => {
        const place = heavyPlace('Records', n);
        const body = shared[n % shared.length]!;
        const created = iso(at(prng));
        return row([
          tenantId,
          heavyId(scope, 'Records', n),
          p.id,
          heavyId(scope, 'Records/folder', place.folder),
          place.name,
          false,
          body.size,
          'text/plain',
          body.sha256,
          created,
          created,
          owner,
          owner,
        ]);
      },
    );
    summary.files += counts.driveItems;
    summary.bytes += shared.reduce((a, b, i) => a + b.size * Math.ceil((counts.driveItems - i) / shared.length), 0);
  }

  // Files with bodies of their own: through the content store, a batch at a time.
  if (counts.files > 0) {
    await folderRows('Files', counts.files);
    for (let from = 0; from < counts.files; from += FILE_BATCH) {
      const n = Math.min(FILE_BATCH, counts.files - from);
      const bodies = await putBodies(opts.contentStore, opts.prng.fork(`heavy-files/${from}`), n, opts.now);
      await insertSeedContentBlobs(client, bodies, new Date(opts.now));
      const items: SeedDriveItem[] = bodies.map((b, k) => {
        const place = heavyPlace('Files', from + k);
        const created = iso(windowStart + Math.floor(((from + k) / counts.files) * (SPAN_MS / 1000)) * 1000);
        return {
          id: heavyId(scope, 'Files', from + k),
          owner_user_id: p.id,
          parent_id: heavyId(scope, 'Files/folder', place.folder),
          name: place.name,
          is_folder: false,
          size: b.size,
          mime_type: mimeTypeFor(place.name),
          content_sha256: b.sha256,
          created_at: created,
          modified_at: created,
          created_by: JSON.parse(owner) as Record<string, unknown>,
          modified_by: JSON.parse(owner) as Record<string, unknown>,
        };
      });
      await insertSeedDriveItems(client, tenantId, items);
      summary.files += n;
      summary.bytes += bodies.reduce((a, b) => a + b.size, 0);
    }
  }

  // Drive events name the heavy records (computed from their index) or the subject's own files.
  if (counts.driveEvents > 0) {
    const prng = opts.prng.fork('heavy-events');
    const named = counts.driveItems + opts.items.length;
    await copyRows(
      client,
      'drive_activities (tenant_id, id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id)',
      counts.driveEvents,
      (n) => {
        // Oldest first, as drive_activities_user_order (tenant, user, activity_at, id) is ordered.
        const when = iso(ordered(prng, n, counts.driveEvents, false));
        const type = prng.weighted(EVENT_TYPES);
        const pickAt = named > 0 ? prng.int(0, named - 1) : -1;
        const item =
          pickAt < 0
            ? null
            : pickAt < counts.driveItems
              ? { id: heavyId(scope, 'Records', pickAt), path: heavyPlace('Records', pickAt).path }
              : opts.items[pickAt - counts.driveItems]!;
        const { ip, device } = origin(p, prng);
        return row([
          tenantId,
          heavyId(scope, 'event', n),
          p.id,
          when,
          type,
          owner,
          item?.id ?? null,
          item?.path ?? null,
          ip,
          device.userAgent,
          appFor(device).appId,
        ]);
      },
    );
  }

  if (counts.signIns > 0) {
    const prng = opts.prng.fork('heavy-sign-ins');
    // Newest first, as sign_ins_user_order and sign_ins_listing (created_at desc) are ordered.
    await copyRows(client, 'sign_ins (tenant_id, id, user_id, created_at, data)', counts.signIns, (n) => {
      const s = signInRecord(p, prng, ordered(prng, n, counts.signIns, true));
      return row([tenantId, s.id, p.id, s.createdAt.toISOString(), JSON.stringify(s.data)]);
    });
  }
  return summary;
}

/** `count` small synthetic text bodies (200 B – 8 KiB) put into the content store. */
async function putBodies(store: ContentStore, prng: Prng, count: number, now: number): Promise<{ sha256: string; size: number }[]> {
  const specs = Array.from({ length: count }, (_, i) => ({ size: prng.int(200, 8192), seed: prng.fork(`body/${i}`) }));
  return mapConcurrent(specs, PUT_CONCURRENCY, async (spec) => {
    const stored = await store.put(Readable.from(syntheticContent('txt', spec.size, spec.seed, 'Record', now), { objectMode: false }));
    return { sha256: stored.sha256, size: stored.size };
  });
}
