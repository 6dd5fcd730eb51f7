import os from 'node:os';

// Byte order only matters for fill's fast path; the bytes are the same on either order.
const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * A small seeded PRNG (sfc32, seeded through cyrb128) so that a seed reproduces a tenant byte for
 * byte on every machine and Node version; Math.random and crypto are neither seedable nor stable.
 * Not for secrets.
 */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by weight: [[item, weight], …]. */
  weighted<T>(items: readonly (readonly [T, number])[]): T;
  /** A version-4-shaped GUID made of PRNG bits: stable ids for a stable seed. */
  uuid(): string;
  /** Fills the buffer with PRNG bytes. */
  fill(buf: Buffer): Buffer;
  /** An independent stream named by `label`: adding draws to one part never shifts another. */
  fork(label: string): Prng;
}

/** cyrb128: spreads a string of any length over four 32-bit words. */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

export function createPrng(seed: string): Prng {
  let [a, b, c, d] = cyrb128(seed);
  const uint32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // The first outputs of sfc32 still echo the seed words; discard them.
  for (let i = 0; i < 15; i++) uint32();
  const next = (): number => uint32() / 4294967296;
  const prng: Prng = {
    next,
    uint32,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    weighted: (items) => {
      const total = items.reduce((s, [, w]) => s + w, 0);
      let r = next() * total;
      for (const [item, w] of items) {
        r -= w;
        if (r < 0) return item;
      }
      return items[items.length - 1]![0];
    },
    uuid: () => {
      const bytes = prng.fill(Buffer.alloc(16));
      bytes[6] = (bytes[6]! & 0x0f) | 0x40;
      bytes[8] = (bytes[8]! & 0x3f) | 0x80;
      const hex = bytes.toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
    fill: (buf) => {
      const words = Math.floor(buf.length / 4);
      if (LITTLE_ENDIAN && buf.byteOffset % 4 === 0) {
        // A word view is ~10× faster than writeUInt32LE for the MiB-sized files of a seed.
        const view = new Uint32Array(buf.buffer, buf.byteOffset, words);
        for (let i = 0; i < words; i++) view[i] = uint32();
      } else {
        for (let i = 0; i < words; i++) buf.writeUInt32LE(uint32(), i * 4);
      }
      for (let i = words * 4; i < buf.length; i++) buf[i] = uint32() & 0xff;
      return buf;
    },
    fork: (label) => createPrng(`${seed}\u0000${label}`),
  };
  return prng;
}
