import type { Prng } from './prng.ts';

export type FileKind = 'txt' | 'md' | 'csv' | 'json' | 'png' | 'pdf';

const CHUNK_BYTES = 256 * 1024;

const WORDS = [
  'quarterly',
  'budget',
  'review',
  'customer',
  'pipeline',
  'forecast',
  'roadmap',
  'milestone',
  'deliverable',
  'stakeholder',
  'onboarding',
  'contract',
  'invoice',
  'renewal',
  'supplier',
  'inventory',
  'warehouse',
  'shipment',
  'campaign',
  'launch',
  'feedback',
  'survey',
  'metrics',
  'dashboard',
  'retention',
  'revenue',
  'margin',
  'headcount',
  'hiring',
  'training',
  'compliance',
  'audit',
  'policy',
  'security',
  'migration',
  'release',
  'sprint',
  'backlog',
  'estimate',
  'priority',
  'meeting',
  'agenda',
  'minutes',
  'action',
  'owner',
  'deadline',
  'risk',
  'mitigation',
  'scope',
  'vendor',
  'the',
  'and',
  'for',
  'with',
  'from',
  'next',
  'team',
  'plan',
  'update',
  'draft',
  'final',
  'approved',
  'pending',
  'shared',
];
const REGIONS = ['North', 'South', 'East', 'West', 'Central', 'EMEA', 'APAC', 'LATAM'];
const PRODUCTS = ['Widget', 'Gadget', 'Sprocket', 'Gizmo', 'Doohickey', 'Contraption', 'Apparatus', 'Module'];
const TAGS = ['draft', 'internal', 'customer', 'finance', 'legal', 'hr', 'engineering', 'sales', 'archived'];

function sentence(prng: Prng): string {
  const n = prng.int(6, 16);
  const words = Array.from({ length: n }, () => prng.pick(WORDS));
  const text = words.join(' ');
  return `${text[0]!.toUpperCase()}${text.slice(1)}.`;
}

function isoDay(prng: Prng, base: number): string {
  return new Date(base - prng.int(0, 365) * 86_400_000).toISOString().slice(0, 10);
}

/** Endless text pieces of one kind; the caller stops once the target size is reached. */
function* textPieces(kind: 'txt' | 'md' | 'csv' | 'json', prng: Prng, title: string, base: number): Generator<string> {
  switch (kind) {
    case 'txt':
      yield `${title}\n\n`;
      for (;;) yield `${Array.from({ length: prng.int(1, 5) }, () => sentence(prng)).join(' ')}\n${prng.chance(0.3) ? '\n' : ''}`;
    case 'md':
      yield `# ${title}\n\n`;
      for (let section = 1; ; section++) {
        yield `## ${section}. ${sentence(prng).slice(0, -1)}\n\n${sentence(prng)} ${sentence(prng)}\n\n`;
        for (let i = prng.int(2, 6); i > 0; i--) yield `- ${prng.chance(0.3) ? '[ ] ' : ''}${sentence(prng)}\n`;
        yield '\n';
      }
    case 'csv':
      yield 'Date,Region,Product,Units,UnitPrice,Total,Notes\r\n';
      for (;;) {
        const units = prng.int(1, 500);
        const price = prng.int(199, 99_999) / 100;
        yield `${isoDay(prng, base)},${prng.pick(REGIONS)},${prng.pick(PRODUCTS)},${units},${price.toFixed(2)},${(units * price).toFixed(2)},"${sentence(prng)}"\r\n`;
      }
    case 'json':
      // The closing bracket is written by the caller (jsonClose), so the file is valid JSON at any size.
      yield `{\n  "title": ${JSON.stringify(title)},\n  "items": [\n`;
      for (let i = 1; ; i++) {
        yield `${i > 1 ? ',\n' : ''}    ${JSON.stringify({
          id: i,
          name: `${prng.pick(PRODUCTS)} ${prng.int(100, 999)}`,
          createdAt: isoDay(prng, base),
          tags: [prng.pick(TAGS), prng.pick(TAGS)],
          value: prng.int(0, 1_000_000) / 100,
          note: sentence(prng),
        })}`;
      }
  }
}

/**
 * Text of a kind, close to `targetBytes` (it ends at a whole line or record, so a text file is
 * always well formed: a CSV has whole rows, a JSON file closes its brackets).
 */
function* textContent(kind: 'txt' | 'md' | 'csv' | 'json', targetBytes: number, prng: Prng, title: string, base: number): Generator<Buffer> {
  let pending: string[] = [];
  let pendingBytes = 0;
  let written = 0;
  for (const piece of textPieces(kind, prng, title, base)) {
    pending.push(piece);
    pendingBytes += piece.length;
    if (written + pendingBytes >= targetBytes) break;
    if (pendingBytes >= CHUNK_BYTES) {
      yield Buffer.from(pending.join(''), 'utf8');
      written += pendingBytes;
      pending = [];
      pendingBytes = 0;
    }
  }
  if (kind === 'json') pending.push('\n  ]\n}\n');
  yield Buffer.from(pending.join(''), 'utf8');
}

/** PNG file structure (signature, IHDR, IDAT, IEND) around PRNG bytes: looks like a PNG to tools that sniff. */
function* pngLike(size: number, prng: Prng): Generator<Buffer> {
  const header = Buffer.alloc(8 + 25);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header, 0);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'latin1');
  header.writeUInt32BE(prng.int(320, 4032), 16);
  header.writeUInt32BE(prng.int(240, 3024), 20);
  header.set([8, 6, 0, 0, 0], 24);
  header.writeUInt32BE(prng.uint32(), 29);
  const trailer = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
  const dataBytes = Math.max(0, size - header.length - 8 - 4 - trailer.length);
  const idat = Buffer.alloc(8);
  idat.writeUInt32BE(dataBytes, 0);
  idat.write('IDAT', 4, 'latin1');
  yield Buffer.concat([header, idat]);
  yield* randomBytes(dataBytes, prng);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(prng.uint32(), 0);
  yield Buffer.concat([crc, trailer]);
}

/** A PDF's outline (header, catalog, one binary stream object, trailer) around PRNG bytes. */
function* pdfLike(size: number, prng: Prng, title: string): Generator<Buffer> {
  const head = Buffer.from(
    `%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n` +
      `3 0 obj\n<< /Title (${title.replace(/[()\\]/g, '')}) /Producer (dsr-export seed) >>\nendobj\n`,
    'latin1',
  );
  const tail = Buffer.from('\nendstream\nendobj\ntrailer\n<< /Root 1 0 R /Info 3 0 R >>\n%%EOF\n', 'latin1');
  const streamHeadText = (n: number) => `4 0 obj\n<< /Length ${n} /Filter /FlateDecode >>\nstream\n`;
  // The stream length appears in its own header: solve for it (its digit count barely moves).
  let dataBytes = Math.max(0, size - head.length - tail.length - streamHeadText(0).length);
  dataBytes = Math.max(0, size - head.length - tail.length - streamHeadText(dataBytes).length);
  yield Buffer.concat([head, Buffer.from(streamHeadText(dataBytes), 'latin1')]);
  yield* randomBytes(dataBytes, prng);
  yield tail;
}

function* randomBytes(n: number, prng: Prng): Generator<Buffer> {
  for (let left = n; left > 0; left -= CHUNK_BYTES) yield prng.fill(Buffer.alloc(Math.min(CHUNK_BYTES, left)));
}

/**
 * The body of a synthetic file, streamed in chunks of at most 256 KiB so that a multi-MiB file is
 * never whole in memory. Binary kinds are exactly `targetBytes` long (or their minimal structure);
 * text kinds (UTF-8) end at the first whole line or record past it. `base` (ms) anchors dates in the text.
 */
export function syntheticContent(kind: FileKind, targetBytes: number, prng: Prng, title: string, base: number): Generator<Buffer> {
  switch (kind) {
    case 'png':
      return pngLike(targetBytes, prng);
    case 'pdf':
      return pdfLike(targetBytes, prng, title);
    default:
      return textContent(kind, targetBytes, prng, title, base);
  }
}
