import type { NewSignIn } from '../domain/sign-in.ts';
import { ACTIVITY_DAYS, between, DAY_MS, HOUR_MS } from './activity-window.ts';
import type { SeedProfile } from './seed-users.ts';
import { signInRecord } from './sign-in-record.ts';

/** Weekday working-hours sign-ins (1–3 a day, rarely at weekends) over the last 90 days, ~7 % failing. */
export function buildSignIns(p: SeedProfile, now: number): NewSignIn[] {
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
