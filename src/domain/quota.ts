export type QuotaWindow = 'hour' | 'day';

const WINDOW_MS: Record<QuotaWindow, number> = { hour: 3_600_000, day: 86_400_000 };

/** Fixed UTC windows, so every API process counts into the same row. */
export function quotaWindow(now: Date, window: QuotaWindow): { start: Date; retryAfterSeconds: number } {
  const ms = WINDOW_MS[window];
  const start = Math.floor(now.getTime() / ms) * ms;
  return { start: new Date(start), retryAfterSeconds: Math.max(1, Math.ceil((start + ms - now.getTime()) / 1000)) };
}

/** The daily buckets an export counts against, whoever starts it (the export POST or a case). */
export function exportQuotaBuckets(
  limits: { exportsPerTenantPerDay: number; exportsPerUserPerDay: number },
  userId: string,
): { bucket: string; limit: number; message: string }[] {
  const { exportsPerTenantPerDay: perTenant, exportsPerUserPerDay: perUser } = limits;
  return [
    { bucket: 'exports', limit: perTenant, message: `The tenant exceeded its quota of ${perTenant} export requests per day.` },
    { bucket: `exports:${userId}`, limit: perUser, message: `The user exceeded the quota of ${perUser} export requests per day.` },
  ];
}
