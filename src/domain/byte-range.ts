/** What a `Range` request header asks of a body of `size` bytes. */
export type RangeRequest = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * A single `bytes=` range (first-last, first-, or -suffix), end inclusive. Anything the service
 * does not serve as a part — no header, another unit, several ranges, a malformed value — is
 * the whole body, which RFC 9110 allows a server to answer instead of a range.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/**
 * Whether an If-None-Match header names one of `tags` (weak comparison; `*` matches any). Tags
 * are read as quoted strings, not split on commas: Graph's eTags contain commas.
 */
export function noneMatchHits(header: string | undefined, tags: readonly string[]): boolean {
  if (header === undefined) return false;
  const listed = header.match(/(?:W\/)?"[^"]*"|\*/g) ?? [];
  return listed.some((t) => t === '*' || tags.includes(t.replace(/^W\//, '')));
}
