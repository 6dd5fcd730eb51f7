import type { FastifyReply } from 'fastify';
import { sendGraphJson } from './graph-reply.ts';
import { parseSelect, parseTop, rejectUnknownOptions } from './odata.ts';

/**
 * The query options every list reads alike: none but `options`, $top between 1 and `top[1]`
 * (default `top[0]`), and $select against `properties` when the list supports it.
 */
export function readListQuery(
  query: Record<string, string>,
  opts: { options: readonly string[]; top: readonly [number, number]; properties?: readonly string[] },
): { top: number; select: string[] | undefined } {
  rejectUnknownOptions(query, opts.options);
  const select = opts.properties ? parseSelect(query.$select, opts.properties) : undefined;
  return { top: parseTop(query.$top, opts.top[0], opts.top[1]), select };
}

/**
 * Sends one page of a list. `rows` holds up to `top + 1` rows, read that way so that the extra
 * one says whether a next page exists; the nextLink carries the keyset of the last row served.
 */
export function sendPage<R>(
  reply: FastifyReply,
  rows: readonly R[],
  page: {
    top: number;
    context: string;
    /** The list's URL, without query: the nextLink repeats `query` with the new $skiptoken. */
    url: string;
    query: Record<string, string>;
    render: (row: R) => unknown;
    skipToken: (last: R) => string;
  },
): FastifyReply {
  const served = rows.slice(0, page.top);
  const last = served[served.length - 1];
  return sendGraphJson(reply, 200, {
    '@odata.context': page.context,
    value: served.map((row) => page.render(row)),
    ...(rows.length > page.top && last !== undefined ? { '@odata.nextLink': nextLink(page.url, page.query, page.skipToken(last)) } : {}),
  });
}

/** The @odata.nextLink of a page: the same query with $skiptoken replaced. */
export function nextLink(resourceUrl: string, query: Record<string, string>, skipToken: string): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (k !== '$skiptoken') params.set(k, v);
  params.set('$skiptoken', skipToken);
  return `${resourceUrl}?${params.toString()}`;
}
