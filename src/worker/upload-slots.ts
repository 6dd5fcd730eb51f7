/**
 * At most `size` holders at once, the others wait in arrival order. The export's lanes take one
 * for every file larger than a block: such an upload holds `parallelBlocks + 1` block buffers
 * (12 MiB at 4 MiB × 2), so eight lanes on the large sections of a big subject would hold about
 * 100 MiB; two at once keep the worker's memory flat and still keep the storage busy.
 */
export class UploadSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
