import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { QuickXorHash } from '../src/content/quick-xor-hash.ts';

// Known vectors of Microsoft's reference implementation (base64 input → base64 digest), as
// published with rclone's port and the quickxorhash C library.
const VECTORS: [string, string][] = [
  ['', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='],
  ['Sg==', 'SgAAAAAAAAAAAAAAAQAAAAAAAAA='],
  ['tbQ=', 'taAFAAAAAAAAAAAAAgAAAAAAAAA='],
  ['i+UZyUGJKh+ISbk=', 'iyhHBpIRhESo4AOIQ0IuAAAAAAA='],
  ['T6LYJIfDh81JrAK309H2JMJTXis=', 'zBTHrspn3mEcohlJdIUAbjGNaNg='],
  ['Mb7EGva2rEE5fENDL85P+BsapHEEjv2/siVhKjvAQe02feExVOQSkfmuYzU/kTF1MaKjPmKF/w+cbvwfdWL8aQ==', 'n1anP5NfvD4XDYWIeRPW3ZkPv1Y='],
  [
    'jyibxJSzO6ZiZ0O1qe3tG/bvIAYssvukh9suIT5wEy1JBINVgPiqdsTW0cOpP0aUfP7mgqLfADkzI/m/GgCuVhr8oFLrOCoTx1/psBOWwhltCbhUx51Icm9aH8tY4Z3ccU+6BKpYQkLCy0B/A9Zc',
    'hZfLIilSITC6N3e3tQ/iSgEzkto=',
  ],
  [
    'w0LGhqU1WXFbdavqDE4kAjEzWLGGzmTNikzqnsiXHx2KRReKVTxkv27u3UcEz9+lbMvYl4xFf2Z4aE1xRBBNd1Ke5C0zToSaYw5o4B/7X99nKK2/XaUX1byLow2aju2XJl2OpKpJg+tSJ2fmjIJTkfuYUz574dFX6/VXxSxwGH/xQEAKS5TCsBK3CwnuG1p5SAsQq3gGVozDWyjEBcWDMdy8/AIFrj/y03Lfc/RNRCQTAfZbnf2QwV7sluw4fH3XJr07UoD0YqN+7XZzidtrwqMY26fpLZnyZjnBEt1FAZWO7RnKG5asg8xRk9YaDdedXdQSJAOy6bWEWlABj+tVAigBxavaluUH8LOj+yfCFldJjNLdi90fVHkUD/m4Mr5OtmupNMXPwuG3EQlqWUVpQoYpUYKLsk7a5Mvg6UFkiH596y5IbJEVCI1Kb3D1',
    'e3+wo77iKcILiZegnzyUNcjCdoQ=',
  ],
];

describe('QuickXorHash', () => {
  it.each(VECTORS)('hashes the %s vector in one piece', (input, expected) => {
    expect(new QuickXorHash().update(Buffer.from(input, 'base64')).digest()).toBe(expected);
  });

  it('gives the same digest however the input is split', () => {
    for (const [input, expected] of VECTORS) {
      const bytes = Buffer.from(input, 'base64');
      for (const size of [1, 7, 64, 159, 161]) {
        const h = new QuickXorHash();
        for (let i = 0; i < bytes.length; i += size) h.update(bytes.subarray(i, i + size));
        expect(h.digest()).toBe(expected);
      }
    }
  });

  it('word by word and byte by byte agree with the definition, on long inputs, aligned or not, split anyhow', () => {
    // The definition, bit by bit: byte i XORed into a 160-bit state at bit 11 * i mod 160
    // (bit k of the state being bit k % 8 of byte k >> 3, wrapping past the last byte), then the
    // length, 64-bit little-endian, XORed into the last 8 bytes.
    const reference = (bytes: Uint8Array) => {
      const state = new Uint8Array(20);
      for (let i = 0; i < bytes.length; i++) {
        for (let b = 0; b < 8; b++)
          if ((bytes[i]! >> b) & 1) {
            const bit = (((i * 11) % 160) + b) % 160;
            state[bit >> 3]! ^= 1 << (bit & 7);
          }
      }
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(bytes.length));
      for (let i = 0; i < 8; i++) state[12 + i]! ^= len[i]!;
      return Buffer.from(state).toString('base64');
    };
    const input = randomBytes(20_011);
    const expected = reference(input);
    expect(new QuickXorHash().update(input).digest()).toBe(expected);
    for (const offset of [1, 2, 3, 4]) {
      // The same bytes at an address that is not (or is) a multiple of 4.
      const shifted = Buffer.alloc(input.length + offset);
      input.copy(shifted, offset);
      expect(new QuickXorHash().update(shifted.subarray(offset)).digest()).toBe(expected);
    }
    for (const sizes of [
      [1, 3, 4096],
      [160, 7],
      [2, 65_536],
      [5, 6, 7, 8, 9, 1000],
    ]) {
      const h = new QuickXorHash();
      for (let i = 0, k = 0; i < input.length; k++) {
        const size = sizes[k % sizes.length]!;
        h.update(input.subarray(i, i + size));
        i += size;
      }
      expect(h.digest()).toBe(expected);
    }
  });

  it("matches the quickxorhash library's documented 'hello world' digest", () => {
    expect(new QuickXorHash().update(Buffer.from('hello world')).digest()).toBe('aCgDG9jwBhDc4Q1yawMZAAAAAAA=');
  });
});
