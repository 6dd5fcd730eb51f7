import { Presets, SingleBar } from 'cli-progress';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { daysLeft } from '../cases/due-dates.ts';
import { ApiClient } from './api-client.ts';
import { CliError } from './fail.ts';

const BASE = '/v1.0/security/subjectRightsRequests';

type Out = { write(s: string): unknown; isTTY?: boolean };

export interface CaseJson {
  id: string;
  displayName: string;
  type: string;
  status: 'active' | 'closed';
  internalDueDateTime: string;
  createdDateTime: string;
  closedDateTime: string | null;
  dataSubject: { email?: string };
  regulations: string[];
  stages: { stage: string; status: string; error: { code: string; message: string } | null }[];
  history: {
    type: string;
    stage: string;
    stageStatus: string;
    eventDateTime: string;
    changedBy: Record<string, { id: string | null; displayName: string | null } | null>;
  }[];
  insight: { itemCount: number; excludedItemCount: number; totalItemSize: number };
}

async function ok(res: Response, what: string): Promise<Response> {
  return res.ok ? res : ApiClient.fail(res, what);
}

async function getJson<T>(api: ApiClient, path: string, what: string): Promise<T> {
  return (await (await ok(await api.request('GET', path), what)).json()) as T;
}

/** Every item of a paged collection, a page at a time (@odata.nextLink). */
async function* pages<T>(api: ApiClient, first: string, what: string): AsyncGenerator<T> {
  let url: string | undefined = first;
  while (url) {
    const page: { value: T[]; '@odata.nextLink'?: string } = await getJson(api, url, what);
    yield* page.value;
    url = page['@odata.nextLink'];
  }
}

/** Prints items as they arrive: lines, or one JSON array written piece by piece. Returns how many. */
async function printAll<T>(items: AsyncIterable<T>, out: Out, json: boolean | undefined, none: string, line: (item: T) => string): Promise<number> {
  let n = 0;
  for await (const item of items) {
    out.write(json ? `${n === 0 ? '[\n' : ',\n'}${JSON.stringify(item, null, 2)}` : line(item));
    n++;
  }
  if (json) out.write(n === 0 ? '[]\n' : '\n]\n');
  else if (n === 0) out.write(`${none}\n`);
  return n;
}

/** "in 12 days", "due today", "3 days overdue" — red on a terminal when overdue. */
export function dueText(c: Pick<CaseJson, 'internalDueDateTime' | 'status'>, now: Date, color: boolean): string {
  const days = daysLeft(new Date(c.internalDueDateTime), now);
  const date = c.internalDueDateTime.slice(0, 10);
  if (c.status === 'closed') return `${date} (closed)`;
  if (days >= 0) return `${date} (${days === 0 ? 'due today' : `${days} day${days === 1 ? '' : 's'} left`})`;
  const text = `${date} (${-days} day${days === -1 ? '' : 's'} overdue)`;
  return color ? `\u001b[31;1m${text}\u001b[0m` : text;
}

/** "contentRetrieval ✓ → contentReview … → generateReport · → caseResolved ·" */
export function stageText(c: Pick<CaseJson, 'stages'>): string {
  const mark: Record<string, string> = { completed: 'done', current: 'now', failed: 'FAILED', notStarted: '-' };
  return c.stages.map((s) => `${s.stage}:${mark[s.status] ?? s.status}`).join(' > ');
}

export async function listCases(api: ApiClient, opts: { overdue?: boolean; status?: string; json?: boolean; out?: Out; now?: Date }): Promise<number> {
  const now = opts.now ?? new Date();
  const terms: string[] = [];
  if (opts.overdue) terms.push(`status eq 'active'`, `internalDueDateTime lt ${now.toISOString()}`);
  else if (opts.status) terms.push(`status eq '${opts.status.replace(/'/g, "''")}'`);
  const url = `${BASE}${terms.length ? `?$filter=${encodeURIComponent(terms.join(' and '))}` : ''}`;
  const out = opts.out ?? process.stdout;
  return printAll(
    pages<CaseJson>(api, url, 'case list'),
    out,
    opts.json,
    'no cases',
    (c) => `${c.id}  ${c.status.padEnd(6)}  due ${dueText(c, now, Boolean(out.isTTY))}  ${c.type}  ${c.displayName}\n    ${stageText(c)}\n`,
  );
}

export async function showCase(api: ApiClient, id: string, opts: { json?: boolean; out?: Out; now?: Date }): Promise<CaseJson> {
  const c = await getJson<CaseJson>(api, `${BASE}/${encodeURIComponent(id)}`, 'case');
  const out = opts.out ?? process.stdout;
  if (opts.json) {
    out.write(`${JSON.stringify(c, null, 2)}\n`);
    return c;
  }
  const now = opts.now ?? new Date();
  out.write(`${c.id} ${c.displayName}\n`);
  out.write(`  type ${c.type}, status ${c.status}, subject ${c.dataSubject.email ?? '?'}, regulations ${c.regulations.join(', ') || 'none'}\n`);
  out.write(`  due ${dueText(c, now, Boolean(out.isTTY))}\n`);
  out.write(`  stages ${stageText(c)}\n`);
  for (const s of c.stages) if (s.error) out.write(`  ${s.stage} error ${s.error.code}: ${s.error.message}\n`);
  out.write(`  package ${c.insight.itemCount} files, ${c.insight.totalItemSize} bytes, ${c.insight.excludedItemCount} excluded\n`);
  for (const h of c.history) {
    const who = Object.values(h.changedBy).find((v) => v) ?? null;
    out.write(`  ${h.eventDateTime} ${h.type} (${h.stage} ${h.stageStatus}) by ${who?.displayName ?? who?.id ?? 'unknown'}\n`);
  }
  return c;
}

export interface CreateCaseOptions {
  email: string;
  name: string;
  type: string;
  subjectType: string;
  regulation: string[];
  due?: string;
  pause: boolean;
  description?: string;
}

export async function createCase(api: ApiClient, o: CreateCaseOptions): Promise<CaseJson> {
  const res = await api.request('POST', BASE, {
    type: o.type,
    displayName: o.name,
    dataSubjectType: o.subjectType,
    regulations: o.regulation,
    dataSubject: { email: o.email },
    ...(o.due ? { internalDueDateTime: o.due } : {}),
    ...(o.description ? { description: o.description } : {}),
    ...(o.pause ? {} : { pauseAfterEstimate: false }),
  });
  return (await (await ok(res, 'case creation')).json()) as CaseJson;
}

export async function closeCase(api: ApiClient, id: string, note: string | undefined): Promise<CaseJson> {
  if (note) await ok(await api.request('POST', `${BASE}/${encodeURIComponent(id)}/notes`, { content: { content: note, contentType: 'text' } }), 'note');
  return (await (await ok(await api.request('PATCH', `${BASE}/${encodeURIComponent(id)}`, { status: 'closed' }), 'close')).json()) as CaseJson;
}

/**
 * Downloads the final report or attachment to `file` (through a temporary name, so a cut
 * download never looks complete), with a progress bar on a terminal. The size is not known in
 * advance (both are generated as they stream): the bar's total is the package size as an estimate.
 */
export async function downloadCaseFile(
  api: ApiClient,
  id: string,
  which: 'getFinalReport' | 'getFinalAttachment',
  file: string,
  opts: { out?: Out } = {},
): Promise<number> {
  const c = await getJson<CaseJson>(api, `${BASE}/${encodeURIComponent(id)}?$select=insight`, 'case');
  const res = await ok(await api.request('GET', `${BASE}/${encodeURIComponent(id)}/${which}`), which);
  if (!res.body) throw new CliError(`${which} returned no body`);
  const out = opts.out ?? process.stderr;
  const bar = out.isTTY
    ? new SingleBar({ format: `${which} {bar} {value_kb} KiB`, hideCursor: true, stream: out as NodeJS.WriteStream }, Presets.shades_classic)
    : undefined;
  const estimate = Math.max(1, which === 'getFinalAttachment' ? c.insight.totalItemSize : c.insight.itemCount * 120);
  bar?.start(estimate, 0, { value_kb: 0 });
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > estimate) bar?.setTotal(bytes);
      bar?.update(bytes, { value_kb: Math.round(bytes / 1024) });
      cb(null, chunk);
    },
  });
  const partial = `${file}.partial`;
  try {
    await pipeline(Readable.fromWeb(res.body), count, createWriteStream(partial));
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw new CliError(`${which} download stopped: ${(err as Error).message}`, 'Run the command again; the file is rebuilt from the start.');
  } finally {
    bar?.stop();
  }
  return bytes;
}

export async function getPrivacyStatement(api: ApiClient): Promise<unknown> {
  return getJson(api, '/v1.0/security/privacyStatement', 'privacy statement');
}

export async function setPrivacyStatement(api: ApiClient, file: string): Promise<unknown> {
  let body: unknown;
  try {
    body = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError(
      `cannot read ${file} as JSON: ${(err as Error).message}`,
      'Pass a JSON file shaped like the output of `dsr-export privacy-statement get --json`.',
    );
  }
  if (typeof body === 'object' && body !== null) {
    // What `get` prints can be edited and set again: the read-only properties are dropped.
    for (const key of ['@odata.context', 'lastModifiedBy', 'lastModifiedDateTime']) delete (body as Record<string, unknown>)[key];
  }
  return (await ok(await api.request('PUT', '/v1.0/security/privacyStatement', body), 'privacy statement')).json();
}

export interface PackageFileJson {
  id: string;
  path: string;
  section: string;
  size: number;
  excluded: boolean;
  exclusionReason: string | null;
}

/** The review: every package file with its id (for exclude/include) and whether it is left out. */
export async function listCaseFiles(api: ApiClient, id: string, opts: { json?: boolean; out?: Out }): Promise<number> {
  return printAll(
    pages<PackageFileJson>(api, `${BASE}/${encodeURIComponent(id)}/packageFiles`, 'package file list'),
    opts.out ?? process.stdout,
    opts.json,
    'no package files yet',
    (f) => `${f.id.padStart(5)}  ${f.excluded ? 'excluded' : 'included'}  ${f.path} (${f.size} bytes)${f.exclusionReason ? ` — ${f.exclusionReason}` : ''}\n`,
  );
}

export async function setCaseFileExclusion(api: ApiClient, id: string, fileId: string, reason: string | undefined): Promise<PackageFileJson> {
  const body = reason === undefined ? { excluded: false } : { excluded: true, exclusionReason: reason };
  const res = await api.request('PATCH', `${BASE}/${encodeURIComponent(id)}/packageFiles/${encodeURIComponent(fileId)}`, body);
  return (await (await ok(res, reason === undefined ? 'include' : 'exclude')).json()) as PackageFileJson;
}

export async function completeCaseReview(api: ApiClient, id: string): Promise<CaseJson> {
  return (await (await ok(await api.request('POST', `${BASE}/${encodeURIComponent(id)}/completeReview`), 'review completion')).json()) as CaseJson;
}
