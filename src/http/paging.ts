/** The @odata.nextLink of a page: the same query with $skiptoken replaced. */
export function nextLink(resourceUrl: string, query: Record<string, string>, skipToken: string): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (k !== '$skiptoken') params.set(k, v);
  params.set('$skiptoken', skipToken);
  return `${resourceUrl}?${params.toString()}`;
}
