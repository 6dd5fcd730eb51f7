import { setFlagsFromString } from 'node:v8';

/**
 * Renders allocate fast over a live heap of about 40 MiB, and V8 by default lets the heap grow to
 * several times the live size between full collections: that was most of the worker's peak
 * memory on large subjects. While any export of this process renders, the heap is sized for
 * memory (V8's optimize-for-size, read at every collection); uploads, whose allocation it would
 * turn into a third more CPU in collections, run without it.
 */
let rendering = 0;
export function renderingBegins(): void {
  if (rendering++ === 0) setFlagsFromString('--optimize-for-size');
}
export function renderingEnds(): void {
  if (--rendering === 0) setFlagsFromString('--no-optimize-for-size');
}
