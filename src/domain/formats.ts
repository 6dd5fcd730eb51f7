// The text formats every layer writes and checks (routes, queries, the package, the CLI): a leaf
// module, so that none of them imports the HTTP layer for them.

/** Graph's DateTimeOffset text: ISO 8601 UTC, no fraction when it is zero. */
export function graphDateTime(d: Date | null | undefined): string | null {
  if (!d) return null;
  const iso = d.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** A GUID's text, for patterns that embed one; lowercase, as this service writes ids. */
export const GUID_SOURCE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** An object id as Graph writes it (case-insensitive, as Graph accepts it). */
export const GUID_PATTERN = new RegExp(`^${GUID_SOURCE}$`, 'i');
