/**
 * OneDrive for Business's quickXorHash: a 160-bit non-cryptographic digest. Byte i of the input
 * is XORed into the state at bit (11 * i) mod 160, rotating around the 160 bits; the input length
 * (64-bit little-endian) is XORed into the last 8 bytes; the result is written base64.
 *
 * Since 160 * 11 is a multiple of 160, bytes 160 apart land on the same bit: `update` only XORs
 * each byte into one of 160 accumulators (one array access per byte), and the rotation work is
 * done once, at `digest`. State stays 160 bytes whatever the input size.
 */
export class QuickXorHash {
  private readonly lanes = new Uint8Array(160);
  private position = 0;
  private length = 0n;

  update(chunk: Uint8Array): this {
    const lanes = this.lanes;
    let p = this.position;
    for (let i = 0; i < chunk.length; i++) {
      lanes[p]! ^= chunk[i]!;
      if (++p === 160) p = 0;
    }
    this.position = p;
    this.length += BigInt(chunk.length);
    return this;
  }

  /** The base64 digest, as Graph's `hashes.quickXorHash` carries it. */
  digest(): string {
    const out = Buffer.alloc(20);
    for (let lane = 0; lane < 160; lane++) {
      const b = this.lanes[lane]!;
      if (b === 0) continue;
      const bit = (lane * 11) % 160;
      const at = bit >> 3;
      const shift = bit & 7;
      out[at]! ^= (b << shift) & 0xff;
      if (shift !== 0) out[(at + 1) % 20]! ^= b >> (8 - shift);
    }
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt.asUintN(64, this.length));
    for (let i = 0; i < 8; i++) out[12 + i]! ^= len[i]!;
    return out.toString('base64');
  }
}
