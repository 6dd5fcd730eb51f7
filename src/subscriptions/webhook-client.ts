import http from 'node:http';
import https from 'node:https';
import { createGuardedAgent, isBlockedAddress, type GuardedAgent, type HostResolver } from '../export/guarded-agent.ts';
import { isAllowedOrigin } from './subscription.ts';

/** What a webhook endpoint answered, or why it answered nothing. */
export type WebhookAnswer =
  | { kind: 'response'; status: number; contentType: string; body: string }
  | { kind: 'timeout' }
  | { kind: 'blocked'; message: string }
  | { kind: 'error'; code: string };

// Bodies are read only to compare a validation token or quote a little of an error: the rest is
// discarded, so a hostile endpoint cannot make the service hold a large answer.
const MAX_BODY_BYTES = 4096;

/**
 * POSTs to notification endpoints through agents that refuse private, loopback and link-local
 * addresses on every connection (DNS rebinding included), follow no redirects, and give up after
 * `timeoutMs`. Origins listed in DSR_NOTIFICATION_ALLOW skip the address check (local receivers).
 */
export class WebhookClient {
  private readonly agents = new Map<string, GuardedAgent>();

  constructor(
    private readonly allowedOrigins: readonly string[],
    private readonly resolve?: HostResolver,
  ) {}

  private agentFor(url: URL): GuardedAgent {
    const allowPrivate = isAllowedOrigin(url.href, this.allowedOrigins);
    const key = `${url.protocol}${allowPrivate}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = createGuardedAgent(url.protocol, { allowPrivate, ...(this.resolve ? { resolve: this.resolve } : {}) });
      this.agents.set(key, agent);
    }
    return agent;
  }

  post(rawUrl: string, body: string | undefined, contentType: string | undefined, timeoutMs: number): Promise<WebhookAnswer> {
    const url = new URL(rawUrl);
    const agent = this.agentFor(url);
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (answer: WebhookAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      const req = send(
        url,
        {
          method: 'POST',
          agent: agent.agent,
          headers: {
            ...(contentType ? { 'content-type': contentType } : {}),
            'content-length': body === undefined ? 0 : Buffer.byteLength(body),
            'user-agent': 'dsr-export-notifications',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < MAX_BODY_BYTES) chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
            size += chunk.length;
          });
          res.on('end', () =>
            settle({
              kind: 'response',
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'error', code: err.code ?? 'ERESPONSE' }));
        },
      );
      const timer = setTimeout(() => {
        settle({ kind: 'timeout' });
        req.destroy();
      }, timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (isBlockedAddress(err)) settle({ kind: 'blocked', message: 'the host resolves to a loopback, private, link-local or metadata address' });
        else settle({ kind: 'error', code: err.code ?? 'EREQUEST' });
      });
      req.end(body);
    });
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/** One line for logs and error messages; never includes the URL (its query string may be a secret). */
export function describeAnswer(answer: WebhookAnswer, timeoutMs: number): string {
  switch (answer.kind) {
    case 'timeout':
      return `no answer within ${Math.round(timeoutMs / 100) / 10} s`;
    case 'blocked':
      return answer.message;
    case 'error':
      return `the connection failed (${answer.code})`;
    case 'response':
      return `HTTP ${answer.status}${answer.contentType ? ` (${answer.contentType.split(';')[0]})` : ''}`;
  }
}
