import type { Command } from 'commander';
import { ApiClient } from './api-client.ts';
import type { CliHelpers } from './register-cases.ts';

export interface SubscriptionJson {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  expirationDateTime: string;
  clientState: string | null;
}

// The CLI subscribes for as long as the server allows by default; a little less, so that the
// clocks of the two machines need not agree to the second.
const CLI_SUBSCRIPTION_SECONDS = 3 * 86_400 - 600;

/** Hides a notification URL's query string (it may be the receiver's secret) in what the CLI prints. */
export function withoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return u.search ? `${u.origin}${u.pathname}?…` : url;
  } catch {
    return url;
  }
}

/**
 * `export --notify <url>`: a subscription to the changes of the operation just accepted. The
 * operation exists only after the POST, so a very small export can end before the subscription
 * does: then no notification will come, and the caller is told so.
 */
export async function subscribeToOperation(
  api: ApiClient,
  operationLocation: string,
  notificationUrl: string,
  warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<SubscriptionJson> {
  const operationId = new URL(operationLocation).pathname.split('/').pop()!;
  const res = await api.request('POST', '/v1.0/subscriptions', {
    changeType: 'updated',
    resource: `dataPolicyOperations/${operationId}`,
    notificationUrl,
    expirationDateTime: new Date(Date.now() + CLI_SUBSCRIPTION_SECONDS * 1000).toISOString(),
  });
  if (res.status !== 201) return ApiClient.fail(res, 'subscription request');
  const subscription = (await res.json()) as SubscriptionJson;
  // The path only: the CLI talks to --server, whatever public URL the Location was built on.
  const op = await api.request('GET', new URL(operationLocation).pathname);
  const status = op.ok ? ((await op.json()) as { status?: string }).status : undefined;
  if (status === 'complete' || status === 'failed') {
    warn(`the export was already ${status} when subscription ${subscription.id} was created: no notification will come for it`);
  }
  return subscription;
}

async function listAll(api: ApiClient): Promise<SubscriptionJson[]> {
  const all: SubscriptionJson[] = [];
  for (let url: string | undefined = '/v1.0/subscriptions'; url;) {
    const res = await api.request('GET', url);
    if (!res.ok) return ApiClient.fail(res, 'subscription list');
    const page = (await res.json()) as { value: SubscriptionJson[]; '@odata.nextLink'?: string };
    all.push(...page.value);
    url = page['@odata.nextLink'];
  }
  return all;
}

type ApiOpts = { server?: string; token?: string; tenant?: string; json?: boolean };
const ROLES = 'User.Export.All,User.Read.All,SubjectRightsRequest.Read.All';

/** `dsr-export subscriptions list|delete`. */
export function registerSubscriptionCommands(program: Command, h: CliHelpers): void {
  const subscriptions = program.command('subscriptions').description('change-notification subscriptions: list, delete');
  h.clientOptions(subscriptions.command('list'))
    .description("the tenant's active subscriptions (notification URLs without their query string)")
    .action(
      h.run(async (opts: ApiOpts) => {
        const all = await listAll(await h.apiFor(opts, ROLES));
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify(
              all.map((s) => ({ ...s, notificationUrl: withoutQuery(s.notificationUrl) })),
              null,
              2,
            )}\n`,
          );
          return;
        }
        if (all.length === 0) process.stdout.write('no subscriptions\n');
        for (const s of all) {
          process.stdout.write(`${s.id} ${s.resource} ${s.changeType} → ${withoutQuery(s.notificationUrl)} until ${s.expirationDateTime}\n`);
        }
      }),
    );
  h.clientOptions(subscriptions.command('delete <id>'))
    .description('delete a subscription: no more notifications for it')
    .action(
      h.run(async (id: string, opts: ApiOpts) => {
        const api = await h.apiFor(opts, ROLES);
        const res = await api.request('DELETE', `/v1.0/subscriptions/${encodeURIComponent(id)}`);
        if (res.status !== 204) return ApiClient.fail(res, 'subscription delete');
        process.stdout.write(opts.json ? `${JSON.stringify({ deleted: id })}\n` : `subscription ${id} deleted\n`);
      }),
    );
}
