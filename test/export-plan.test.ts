import { expect, test } from 'vitest';
import { alreadyUsedFailure, classifyStorageError, exhaustedFailure, isTransientStorageError, sasExpired } from '../src/domain/export-failure.ts';
import {
  attemptsExhausted,
  heartbeatIntervalMs,
  leaseMayHaveLapsed,
  progressPercent,
  retryDelayMs,
  shouldPersistProgress,
} from '../src/domain/export-lease.ts';
import { blobSafeSegment, packageContentType, placeDriveItems, timelineBuckets, toCsv, usageReportRows } from '../src/domain/package-plan.ts';
import { esc, hrefOf } from '../src/export/render-package.ts';
import { SECTIONS } from '../src/export/sections/index.ts';
import { csvFile, graphCollection } from '../src/export/sections/records.ts';

test('retry delays grow exponentially with jitter and a cap', () => {
  const policy = { baseMs: 1000, maxMs: 10_000 };
  expect(retryDelayMs(1, policy, 0)).toBe(500);
  expect(retryDelayMs(1, policy, 0.999)).toBeCloseTo(1000, -1);
  expect(retryDelayMs(3, policy, 0)).toBe(2000);
  expect(retryDelayMs(3, policy, 1)).toBe(4000);
  expect(retryDelayMs(10, policy, 1)).toBe(10_000);
  expect(retryDelayMs(1000, policy, 0.5)).toBe(7500);
  expect(attemptsExhausted(4, 5)).toBe(false);
  expect(attemptsExhausted(5, 5)).toBe(true);
});

test('lease rules: heartbeat at a third, stop writing before the last seen lease may lapse', () => {
  expect(heartbeatIntervalMs(30)).toBe(10_000);
  expect(heartbeatIntervalMs(3)).toBe(1000);
  expect(leaseMayHaveLapsed(10_000, 0, 30)).toBe(false);
  expect(leaseMayHaveLapsed(27_000, 0, 30)).toBe(true);
  expect(leaseMayHaveLapsed(2_400, 0, 3)).toBe(false);
  expect(leaseMayHaveLapsed(2_500, 0, 3)).toBe(true);
});

test('progress: bytes written over bytes planned, 100 kept for complete, persisted at most once a second', () => {
  expect(progressPercent(0, 0)).toBe(0);
  expect(progressPercent(50, 200)).toBe(25);
  expect(progressPercent(200, 200)).toBe(99.9);
  expect(progressPercent(1, 3)).toBe(33.3);
  expect(shouldPersistProgress(5000, undefined)).toBe(true);
  expect(shouldPersistProgress(5999, 5000)).toBe(false);
  expect(shouldPersistProgress(6000, 5000)).toBe(true);
});

test('storage failures map to the Graph vocabulary', () => {
  const sas = { permissions: 'rl', expiresAt: new Date('2030-01-01T00:00:00Z') };
  const now = new Date('2029-01-01T00:00:00Z');
  expect(classifyStorageError({ statusCode: 403, code: 'AuthorizationPermissionMismatch' }, 'write', sas, now)).toMatchObject({
    kind: 'permanent',
    code: 'StorageLocationAccessDenied',
    message: expect.stringContaining('create (c) and write (w)'),
  });
  expect(classifyStorageError({ statusCode: 403, code: 'AuthorizationPermissionMismatch' }, 'write', { ...sas, permissions: 'racwl' }, now)).toMatchObject({
    code: 'StorageLocationAccessDenied',
    message: expect.stringContaining('stored access policy'),
  });
  expect(classifyStorageError({ statusCode: 403, code: 'AuthorizationFailure' }, 'write', sas, new Date('2031-01-01T00:00:00Z'))).toMatchObject({
    code: 'StorageLocationExpired',
  });
  expect(
    classifyStorageError({ statusCode: 403, code: 'AuthenticationFailed', message: 'Signature not valid in the specified time frame' }, 'write', sas, now),
  ).toMatchObject({ code: 'StorageLocationExpired' });
  expect(classifyStorageError({ statusCode: 403, code: 'AuthenticationFailed' }, 'write', sas, now)).toMatchObject({ code: 'StorageLocationAccessDenied' });
  expect(classifyStorageError({ statusCode: 404, code: 'ContainerNotFound' }, 'write', sas, now)).toMatchObject({ code: 'StorageLocationNotFound' });
  for (const statusCode of [408, 429, 500, 503]) expect(classifyStorageError({ statusCode }, 'write', sas, now).kind).toBe('transient');
  expect(classifyStorageError({ code: 'ECONNREFUSED' }, 'write', sas, now)).toMatchObject({ kind: 'transient', cause: 'storage' });
  expect(classifyStorageError({ statusCode: 400, code: 'InvalidBlockList' }, 'write', sas, now)).toMatchObject({ code: 'InternalServerError' });
  expect(isTransientStorageError({ code: 'ECONNRESET' })).toBe(true);
  expect(isTransientStorageError({ statusCode: 403 })).toBe(false);
  expect(sasExpired(sas, new Date('2030-01-01T00:00:00Z'))).toBe(true);
  expect(alreadyUsedFailure()).toMatchObject({ code: 'StorageLocationAlreadyUsed' });
  expect(exhaustedFailure(5, 'Storage answered 503.').message).toContain('after 5 attempts');
});

test('blob-safe names: unsafe characters, trailing dots, reserved names, length', () => {
  expect(blobSafeSegment('a:b?c*d|e<f>g"h\\i#j%k')).toBe('a_b_c_d_e_f_g_h_i_j_k');
  expect(blobSafeSegment('trailing. ')).toBe('trailing__');
  expect(blobSafeSegment('..')).toBe('__');
  expect(blobSafeSegment('')).toBe('_');
  expect(blobSafeSegment('nul.txt')).toBe('_nul.txt');
  expect(blobSafeSegment('Zürich – résumé.docx')).toBe('Zürich – résumé.docx');
  expect(blobSafeSegment('tab\there')).toBe('tab_here');
  const long = blobSafeSegment(`${'x'.repeat(300)}.pdf`);
  expect(long).toHaveLength(255);
  expect(long.endsWith('.pdf')).toBe(true);
});

test('drive placement keeps the tree, makes names unique per folder (case-insensitively) and caps path length', () => {
  const items = [
    { id: 'r', parentId: null, name: 'root', isFolder: true },
    { id: 'f', parentId: 'r', name: 'Docs', isFolder: true },
    { id: '1', parentId: 'f', name: 'a:b.txt', isFolder: false },
    { id: '2', parentId: 'f', name: 'a_b.txt', isFolder: false },
    { id: '3', parentId: 'f', name: 'A_B.txt', isFolder: false },
    { id: '4', parentId: 'r', name: 'top.txt', isFolder: false },
    { id: '5', parentId: 'missing', name: 'orphan.txt', isFolder: false },
  ];
  const p = placeDriveItems(items);
  expect(p.get('r')).toEqual({ drivePath: '', packagePath: 'OneDrive/Files' });
  expect(p.get('f')).toEqual({ drivePath: 'Docs', packagePath: 'OneDrive/Files/Docs' });
  // Stable order by original name: "A_B.txt" < "a:b.txt" < "a_b.txt".
  expect(p.get('3')!.packagePath).toBe('OneDrive/Files/Docs/A_B.txt');
  expect(p.get('1')!.packagePath).toBe('OneDrive/Files/Docs/a_b (2).txt');
  expect(p.get('2')!.packagePath).toBe('OneDrive/Files/Docs/a_b (3).txt');
  expect(p.get('1')!.drivePath).toBe('Docs/a:b.txt');
  expect(p.get('4')!.packagePath).toBe('OneDrive/Files/top.txt');
  expect(p.get('5')!.packagePath).toBe('OneDrive/Files/orphan.txt');
  const deep = placeDriveItems(
    [
      { id: 'r', parentId: null, name: 'root', isFolder: true },
      { id: 'd', parentId: 'r', name: 'd'.repeat(250), isFolder: true },
      { id: 'e', parentId: 'd', name: 'e'.repeat(250), isFolder: true },
      { id: 'x', parentId: 'e', name: 'file.txt', isFolder: false },
    ],
    500,
  );
  // The folder that no longer fits moves, with its subtree below it.
  expect(deep.get('e')!.packagePath).toBe(`OneDrive/Files/_long-paths/e-${'e'.repeat(250)}`);
  expect(deep.get('x')!.packagePath).toBe(`OneDrive/Files/_long-paths/e-${'e'.repeat(250)}/file.txt`);
  expect(deep.get('x')!.drivePath).toBe(`${'d'.repeat(250)}/${'e'.repeat(250)}/file.txt`);
});

test('CSV is RFC 4180 with a header row and CRLF', () => {
  expect(
    toCsv(
      ['a', 'b'],
      [
        ['x,y', 'say "hi"'],
        [null, 'line\nbreak'],
        [1, true],
      ],
    ),
  ).toBe('a,b\r\n"x,y","say ""hi"""\r\n,"line\nbreak"\r\n1,true\r\n');
  expect(toCsv(['only'], [])).toBe('only\r\n');
});

test('CSV cells that a spreadsheet would run as formulas get a leading apostrophe; numbers stay numbers', () => {
  const hostile = ['=HYPERLINK("https://evil.test","x")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd'];
  expect(
    toCsv(
      ['v'],
      hostile.map((v) => [v]),
    ),
  ).toBe(`v\r\n"'=HYPERLINK(""https://evil.test"",""x"")"\r\n'+1+1\r\n'-2+3\r\n'@SUM(A1)\r\n'\tcmd\r\n"'\rcmd"\r\n`);
  expect(
    toCsv(
      ['n', 'ok'],
      [
        [-5, 'a=b'],
        [0, ' =x'],
      ],
    ),
  ).toBe('n,ok\r\n-5,a=b\r\n0, =x\r\n');
});

test('drive files keep a passive content type; anything a browser could run becomes application/octet-stream', () => {
  for (const active of [
    'text/html',
    'image/svg+xml',
    'application/xml',
    'text/xml',
    'text/javascript',
    'application/javascript',
    'application/xhtml+xml',
    'text/html; charset=utf-8',
    'multipart/x-mixed-replace',
    'text/plain\r\nX: y',
    null,
    '',
  ]) {
    expect(packageContentType(active), String(active)).toBe('application/octet-stream');
  }
  expect(packageContentType('application/pdf')).toBe('application/pdf');
  expect(packageContentType('Image/PNG')).toBe('image/png');
  expect(packageContentType('text/plain; charset=utf-8')).toBe('text/plain');
  expect(packageContentType('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe(
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  );
});

test('names in index.html: markup escaped, bidi overrides, isolates and control characters shown as code points', () => {
  expect(esc('invoice\u202Efdp.exe')).toBe('invoice[U+202E]fdp.exe');
  expect(esc('a\u2066b\u2069c\u200Fd\u0000e\u009Bf\u001B')).toBe('a[U+2066]b[U+2069]c[U+200F]d[U+0000]e[U+009B]f[U+001B]');
  expect(esc('<b onclick="x">')).toBe('&lt;b onclick=&quot;x&quot;&gt;');
  expect(esc('Zoë 山田')).toBe('Zoë 山田');
});

test('usage report and timeline buckets count by UTC day (from per-day counts computed in SQL)', () => {
  const rows = usageReportRows([
    { day: '2026-03-01', type: 'FileUploaded', count: 2 },
    { day: '2026-03-02', type: 'Something', count: 1 },
  ]);
  expect(rows).toEqual([
    ['2026-03-01', 2, 0, 0, 0, 0, 0, 0, 2],
    ['2026-03-02', 0, 0, 0, 0, 0, 0, 1, 1],
  ]);
  expect(
    timelineBuckets([
      { day: '2026-03-01', count: 1 },
      { day: '2026-03-03', count: 1 },
    ]),
  ).toEqual({
    unit: 'day',
    buckets: [
      { start: '2026-03-01', count: 1 },
      { start: '2026-03-02', count: 0 },
      { start: '2026-03-03', count: 1 },
    ],
  });
  // Longer histories by ISO week (Mondays), then by month; counts are kept.
  const weeks = timelineBuckets(
    [
      { day: '2026-01-01', count: 3 },
      { day: '2026-01-04', count: 1 },
      { day: '2026-12-31', count: 2 },
    ],
    180,
  );
  expect(weeks.unit).toBe('week');
  expect(weeks.buckets[0]).toEqual({ start: '2025-12-29', count: 4 });
  expect(weeks.buckets.at(-1)).toEqual({ start: '2026-12-28', count: 2 });
  const months = timelineBuckets(
    [
      { day: '2020-01-15', count: 1 },
      { day: '2026-01-01', count: 5 },
    ],
    180,
  );
  expect(months.unit).toBe('month');
  expect(months.buckets).toHaveLength(73);
  expect(months.buckets.reduce((a, b) => a + b.count, 0)).toBe(6);
  // A million records over ten years are a few thousand per-day rows: no spread of a million dates.
  const days = Array.from({ length: 3650 }, (_, i) => ({ day: new Date(Date.UTC(2016, 0, 1) + i * 86_400_000).toISOString().slice(0, 10), count: 274 }));
  expect(timelineBuckets(days).buckets.reduce((a, b) => a + b.count, 0)).toBe(3650 * 274);
  expect(hrefOf('OneDrive/Files/a b/#1?.txt')).toBe('OneDrive/Files/a%20b/%231%3F.txt');
});

test('the section list: RequestInfo first, index.html then manifest.json last; JSON in Graph shape, CSV streamed', async () => {
  expect(SECTIONS[0]!.name).toBe('RequestInfo');
  expect(SECTIONS.map((s) => s.name).slice(-2)).toEqual(['IndexHtml', 'Manifest']);
  expect(new Set(SECTIONS.map((s) => s.name)).size).toBe(SECTIONS.length);
  async function* rows() {
    yield { a: 1 };
    yield { a: '=2' };
  }
  async function text(pieces: AsyncIterable<string>): Promise<string> {
    let out = '';
    for await (const p of pieces) out += p;
    return out;
  }
  const json = await text(graphCollection('ctx', rows(), (r) => r));
  expect(JSON.parse(json)).toEqual({ '@odata.context': 'ctx', value: [{ a: 1 }, { a: '=2' }] });
  expect(JSON.parse(await text(graphCollection('ctx', (async function* () {})(), (r) => r)))).toEqual({ '@odata.context': 'ctx', value: [] });
  expect(await text(csvFile(['a'], rows(), (r) => [r.a]))).toBe("a\r\n1\r\n'=2\r\n");
});
