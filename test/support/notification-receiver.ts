import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';

export interface ReceivedItem {
  id: string;
  subscriptionId: string;
  subscriptionExpirationDateTime: string;
  tenantId: string;
  clientState: string | null;
  changeType?: string;
  lifecycleEvent?: string;
  resource?: string;
  resourceData?: { '@odata.type': string; '@odata.id': string; id: string };
}

export interface ReceivedBatch {
  path: string;
  value: ReceivedItem[];
  validationTokens?: string[];
  receivedAt: number;
}

/** How the receiver answers: the handshake, and notifications. */
export interface ReceiverBehaviour {
  validation: 'echo' | 'wrong-token' | 'status-500' | 'json' | 'redirect' | 'hang';
  notifications: 'accept' | 'status-503' | 'reset' | 'hang';
}

/**
 * A real HTTP endpoint for change notifications on 127.0.0.1 (port 0): answers Graph's
 * validation handshake and records every notification POST, with event-driven waits.
 */
export class NotificationReceiver {
  readonly batches: ReceivedBatch[] = [];
  readonly validations: string[] = [];
  behaviour: ReceiverBehaviour = { validation: 'echo', notifications: 'accept' };
  /** Notification POSTs to these paths get 503 whatever the behaviour (an endpoint that is down). */
  readonly failing = new Set<string>();
  /** Notification POSTs to these paths get no answer (a receiver that stalls mid-delivery). */
  readonly hanging = new Set<string>();
  /** Notification POSTs answered with an error or left hanging, by path. */
  readonly refused: string[] = [];
  private readonly events = new EventEmitter();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly origin: string,
  ) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(): Promise<NotificationReceiver> {
    // The server answers only after start() returns, so `receiver` is set by the first request.
    const server = http.createServer((req, res) => receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const receiver = new NotificationReceiver(server, `http://127.0.0.1:${port}`);
    return receiver;
  }

  url(path = '/hook'): string {
    return `${this.origin}${path}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.origin);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const token = url.searchParams.get('validationToken');
      if (token !== null) {
        this.validations.push(url.pathname);
        switch (this.behaviour.validation) {
          case 'echo':
            res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
            return;
          case 'wrong-token':
            res.writeHead(200, { 'content-type': 'text/plain' }).end('not-the-token');
            return;
          case 'status-500':
            res.writeHead(500).end('broken');
            return;
          case 'json':
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(token));
            return;
          // To a URL that would answer correctly: following it would pass the handshake.
          case 'redirect':
            res.writeHead(302, { location: `/hook?validationToken=${encodeURIComponent(token)}` }).end();
            return;
          case 'hang':
            return;
        }
      }
      if (this.behaviour.notifications !== 'accept' || this.failing.has(url.pathname) || this.hanging.has(url.pathname)) {
        this.refused.push(url.pathname);
        this.events.emit('refused');
      }
      if (this.failing.has(url.pathname)) {
        res.writeHead(503).end();
        return;
      }
      if (this.hanging.has(url.pathname)) return;
      switch (this.behaviour.notifications) {
        case 'status-503':
          res.writeHead(503).end();
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'hang':
          return;
        case 'accept':
          break;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { value: ReceivedItem[]; validationTokens?: string[] };
      this.batches.push({
        path: url.pathname,
        value: body.value,
        ...(body.validationTokens ? { validationTokens: body.validationTokens } : {}),
        receivedAt: Date.now(),
      });
      res.writeHead(202).end();
      this.events.emit('batch');
    });
  }

  items(path?: string): ReceivedItem[] {
    return this.batches.filter((b) => path === undefined || b.path === path).flatMap((b) => b.value);
  }

  /** Resolves once `predicate` holds, checked now and after every notification POST; rejects at the deadline. */
  waitFor(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('batch', check);
        this.events.off('refused', check);
      };
      this.events.on('batch', check);
      this.events.on('refused', check);
      check();
    });
  }

  /** Drops the connections a `hang` left open. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
