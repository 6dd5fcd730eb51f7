import type { Prng } from './prng.ts';

// The window every seeded record of activity falls in: the 90 days before the seed's `now`.

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const ACTIVITY_DAYS = 90;

/** A time between `from` and `to` (ms), whole seconds. */
export function between(prng: Prng, from: number, to: number): number {
  return from + Math.floor((prng.next() * Math.max(0, to - from)) / 1000) * 1000;
}
