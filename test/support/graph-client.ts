import { Client, HTTPMessageHandler, type Context, type Middleware } from '@microsoft/microsoft-graph-client';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.ts';
import type { TestApp } from './harness.ts';

/**
 * The client's default AuthenticationHandler deletes Authorization on plain-http custom hosts
 * (stack-notes §5), so the chain is ours: a fixed bearer token, then the HTTP handler.
 */
export class FixedAuth implements Middleware {
  private next?: Middleware;
  constructor(private readonly token: string) {}
  async execute(ctx: Context): Promise<void> {
    const options = (ctx.options ??= {});
    const headers = new Headers(options.headers);
    headers.set('Authorization', `Bearer ${this.token}`);
    options.headers = Object.fromEntries(headers);
    return this.next!.execute(ctx);
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

/** @microsoft/microsoft-graph-client against `base`, sending `token`. */
export function graphClient(base: string, token: string): Client {
  const auth = new FixedAuth(token);
  auth.setNext(new HTTPMessageHandler());
  return Client.initWithMiddleware({ middleware: auth, baseUrl: base, defaultVersion: 'v1.0' });
}

/** The test app listening on a free port, its absolute URLs naming the address it listens on. */
export async function listenGraph(t: TestApp): Promise<{ server: FastifyInstance; base: string }> {
  let base = '';
  const server = await buildApp({ ...t.deps, publicUrl: () => base });
  await server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  return { server, base };
}
