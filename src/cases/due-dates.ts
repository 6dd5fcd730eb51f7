/** How long a regulation gives the controller to answer: whole calendar months or days. */
export interface DuePeriod {
  readonly months: number;
  readonly days: number;
}

/** GDPR Art. 12(3) one month, CCPA §1798.130 45 days, LGPD Art. 19 15 days. */
export const DEFAULT_DUE_PERIODS = 'GDPR=1M,CCPA=45D,LGPD=15D';

/**
 * Parses `NAME=<n>M|<n>D` pairs, comma-separated (DSR_CASES_DUE_PERIODS). Names are compared
 * case-insensitively, as callers write "gdpr" as often as "GDPR". Throws a plain Error naming the
 * bad pair: the configuration loader turns it into its own error.
 */
export function parseDuePeriods(raw: string): ReadonlyMap<string, DuePeriod> {
  const table = new Map<string, DuePeriod>();
  for (const pair of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9 ._-]+?)\s*=\s*(\d{1,4})\s*([MmDd])$/.exec(pair);
    if (!m) throw new Error(`not a regulation period: "${pair}" (use e.g. GDPR=1M,CCPA=45D)`);
    const n = Number(m[2]);
    table.set(m[1]!.toUpperCase(), m[3]!.toUpperCase() === 'M' ? { months: n, days: 0 } : { months: 0, days: n });
  }
  return table;
}

/** `from` plus the period; a month later than 31 January is the last day of February. */
export function addPeriod(from: Date, period: DuePeriod): Date {
  const d = new Date(from.getTime());
  if (period.months > 0) {
    const day = d.getUTCDate();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + period.months);
    const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    d.setUTCDate(Math.min(day, lastDay));
  }
  d.setUTCDate(d.getUTCDate() + period.days);
  return d;
}

/** The earliest due date any of the regulations sets, or undefined when the table knows none of them. */
export function defaultDueDate(now: Date, regulations: readonly string[], table: ReadonlyMap<string, DuePeriod>): Date | undefined {
  let due: Date | undefined;
  for (const regulation of regulations) {
    const period = table.get(regulation.trim().toUpperCase());
    if (!period) continue;
    const candidate = addPeriod(now, period);
    if (!due || candidate < due) due = candidate;
  }
  return due;
}

/** Whole days until the due date (negative when overdue), counted from `now`. */
export function daysLeft(due: Date, now: Date): number {
  return Math.floor((due.getTime() - now.getTime()) / 86_400_000);
}
