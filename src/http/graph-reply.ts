import type { FastifyReply } from 'fastify';
import type { Caller } from '../auth/verify-token.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every Graph route. */
    caller: Caller;
    /** `v1.0` or `beta`: the version segment the request came in on. */
    graphVersion: string;
  }
  interface FastifyContextConfig {
    /** Which quota a route counts against; `export` routes count per day, the rest per hour. */
    quota?: 'export' | 'request';
  }
}

export const GRAPH_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

export function sendGraphJson(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  return reply.code(status).type(GRAPH_JSON).send(JSON.stringify(body));
}

/** The same, serialised by the route's response schema (Fastify compiles it once) instead of JSON.stringify. */
export function sendGraphObject(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  return reply.code(status).type(GRAPH_JSON).send(body);
}
