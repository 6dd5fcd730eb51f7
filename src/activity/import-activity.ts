import { Readable } from 'node:stream';
import { inTransaction, type Db } from '../db/pool.ts';
import { findSignInUsers, insertSignIns } from '../db/queries/sign-ins.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import { numberLines, readFileLines, splitLines, type SourceLine } from './read-lines.ts';
import { parseSignInLine, toNewSignIn, type NewSignIn, type ParsedSignIn } from '../domain/sign-in.ts';

export interface ImportError {
  /** 1-based line number in the source, blank lines included. */
  readonly line: number;
  readonly message: string;
}

export interface ImportSummary {
  /** Non-blank lines read. */
  read: number;
  /** Lines that passed every check (whether or not they were then loaded). */
  valid: number;
  /** Rows inserted and committed. */
  imported: number;
  /** Valid lines whose id the tenant already held (or that repeated an earlier line): left alone. */
  duplicates: number;
  /** Bad lines left out because `skipInvalid` was set. */
  skipped: number;
  /** True when the transaction committed; false when a bad line stopped the whole import. */
  committed: boolean;
  /** Bad lines, in order; at most MAX_REPORTED_ERRORS of them (errorCount has the total). */
  errors: ImportError[];
  errorCount: number;
}

export interface ImportOptions {
  /** Load the good lines and report the bad ones as skipped; by default one bad line loads nothing. */
  skipInvalid?: boolean;
  /** Rows per INSERT; every batch is one statement and one user lookup. */
  batchSize?: number;
  /** Longest line accepted; a real signIn record is 1–5 KB. */
  maxLineLength?: number;
}

/**
 * Where the lines come from: a file path (streamed), a Readable of bytes or text (split on
 * newlines), or an (async) iterable that already yields one line per item (a readline
 * interface, an array).
 */
export type ImportSource = string | Readable | AsyncIterable<string> | Iterable<string>;

export const MAX_REPORTED_ERRORS = 1000;
const DEFAULT_BATCH_SIZE = 1000;
const DEFAULT_MAX_LINE_LENGTH = 1 << 20;
// Users seen by earlier batches are remembered so that a file of one user's sign-ins looks the
// user up once; the cap keeps a file spanning a huge directory in bounded memory.
const USER_CACHE_LIMIT = 100_000;

class ImportRejected extends Error {}

/**
 * Loads Graph `signIn` JSON lines into the tenant's sign-ins in one transaction, streaming the
 * source and inserting in batches. Every line is checked: JSON, required fields (id,
 * createdDateTime, userId or userPrincipalName), types, and that the user belongs to the tenant
 * (by userId, else by userPrincipalName). Any bad line rolls the whole import back unless
 * `skipInvalid`. Ids already stored are left unchanged and counted as duplicates, so importing
 * the same file twice is harmless. Drive activity is not imported here: it is written by the
 * drive routes as they act, and `seed` generates it for synthetic tenants.
 */
export async function importActivity(db: Db, tenantId: string, source: ImportSource, opts: ImportOptions = {}): Promise<ImportSummary> {
  if (!GUID_PATTERN.test(tenantId)) throw new Error(`tenant "${tenantId}" is not a GUID`);
  const tenant = tenantId.toLowerCase();
  const skipInvalid = opts.skipInvalid ?? false;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxLineLength = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const lines =
    typeof source === 'string'
      ? readFileLines(source, maxLineLength)
      : source instanceof Readable
        ? splitLines(source, maxLineLength)
        : numberLines(source, maxLineLength);

  const summary: ImportSummary = { read: 0, valid: 0, imported: 0, duplicates: 0, skipped: 0, committed: false, errors: [], errorCount: 0 };
  const fail = (line: number, message: string): void => {
    summary.errorCount += 1;
    if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push({ line, message });
  };
  const knownIds = new Set<string>();
  const idByUpn = new Map<string, string>();

  try {
    await inTransaction(db, async (tx) => {
      let pending: { line: number; parsed: ParsedSignIn }[] = [];
      const flush = async (): Promise<void> => {
        const batch = pending;
        pending = [];
        if (batch.length === 0) return;
        const ids = [...new Set(batch.flatMap((b) => (b.parsed.userId && !knownIds.has(b.parsed.userId) ? [b.parsed.userId] : [])))];
        const upns = [
          ...new Set(
            batch.flatMap((b) => {
              const upn = b.parsed.userPrincipalName?.toLowerCase();
              return !b.parsed.userId && upn && !idByUpn.has(upn) ? [upn] : [];
            }),
          ),
        ];
        if (ids.length + upns.length > 0) {
          if (knownIds.size > USER_CACHE_LIMIT) knownIds.clear();
          if (idByUpn.size > USER_CACHE_LIMIT) idByUpn.clear();
          for (const user of await findSignInUsers(tx, tenant, ids, upns)) {
            knownIds.add(user.id);
            idByUpn.set(user.upn_lower, user.id);
          }
        }
        const good: NewSignIn[] = [];
        for (const { line, parsed } of batch) {
          const userId = parsed.userId ?? idByUpn.get(parsed.userPrincipalName!.toLowerCase());
          if (userId && knownIds.has(userId)) good.push(toNewSignIn(parsed, userId));
          else if (parsed.userId) fail(line, `userId ${parsed.userId} is not a user of tenant ${tenant}`);
          else fail(line, `userPrincipalName ${parsed.userPrincipalName} is not a user of tenant ${tenant}`);
        }
        summary.valid += good.length;
        // Once the import is bound to roll back, the rest of the file is only checked, not written.
        if (summary.errorCount > 0 && !skipInvalid) return;
        const inserted = await insertSignIns(tx, tenant, good);
        summary.imported += inserted.length;
        summary.duplicates += good.length - inserted.length;
      };

      for await (const line of lines as AsyncIterable<SourceLine>) {
        if (line.tooLong) {
          summary.read += 1;
          fail(line.number, `line is longer than ${maxLineLength} characters`);
          continue;
        }
        // A BOM at the start of the file and blank lines (a trailing newline) are not records.
        const text = (line.number === 1 ? line.text.replace(/^\uFEFF/, '') : line.text).trim();
        if (text === '') continue;
        summary.read += 1;
        const parsed = parseSignInLine(text);
        if (typeof parsed === 'string') fail(line.number, parsed);
        else pending.push({ line: line.number, parsed });
        if (pending.length >= batchSize) await flush();
      }
      await flush();
      if (summary.errorCount > 0 && !skipInvalid) throw new ImportRejected();
    });
    summary.committed = true;
    summary.skipped = summary.errorCount;
  } catch (err) {
    if (!(err instanceof ImportRejected)) throw err;
    summary.imported = 0;
    summary.duplicates = 0;
  }
  // User checks run per batch, after the syntax checks of the batch's later lines.
  summary.errors.sort((a, b) => a.line - b.line);
  return summary;
}
