import { createWakeSignal } from '../runtime/wake-signal.ts';
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { Config } from '../config.ts';
import { createPool, type Db } from '../db/pool.ts';
import {
  claimNotifications,
  clearSubscriptionFailing,
  deleteDeliveredNotifications,
  deleteExpiredSubscriptions,
  dropStaleLifecycleNotifications,
  markNotificationsDelivered,
  markSubscriptionFailing,
  NOTIFICATIONS_CHANNEL,
  removeFailingSubscriptions,
  rescheduleNotifications,
  type ClaimedNotification,
} from '../db/queries/subscriptions.ts';
import type { HostResolver } from '../export/guarded-agent.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { listenChannel } from '../runtime/listen-channel.ts';
import { notificationMetrics } from './notification-metrics.ts';
import { loadValidationTokenSigner, notificationBody, type ValidationTokenSigner } from './notification-payload.ts';
import { VALIDATION_TIMEOUT_MS } from './validate-endpoint.ts';
import { describeAnswer, WebhookClient } from './webhook-client.ts';

export type DeliveryEvent =
  | { type: 'delivered'; subscriptionId: string; ids: string[] }
  | { type: 'failed'; subscriptionId: string; ids: string[]; reason: string }
  | { type: 'removed'; subscriptionIds: string[] };

export interface DeliveryOptions {
  readonly config: Config;
  /** The process's pool: only its connection settings are used (see DELIVERY_CONNECTIONS). */
  readonly db: Db;
  readonly workerId: string;
  readonly logger?: Logger | undefined;
  readonly metrics?: Metrics | undefined;
  /** DNS resolver of the address guard (tests map a name anywhere). */
  readonly resolve?: HostResolver | undefined;
  /** Back-off and removal in milliseconds; default from config (DSR_NOTIFICATION_RETRY_BASE, _WINDOW). */
  readonly retry?: { baseMs?: number; capMs?: number; windowMs?: number } | undefined;
  /** Fallback when a NOTIFY is missed and the pace of retries; 1 s by default. */
  readonly pollIntervalMs?: number | undefined;
  /** How often expired and failing subscriptions are swept; a minute by default. */
  readonly sweepIntervalMs?: number | undefined;
  /** Signs validationTokens; by default the service's key from the data folder (when the local issuer is on). */
  readonly signer?: ValidationTokenSigner | null | undefined;
  readonly onEvent?: ((event: DeliveryEvent) => void) | undefined;
}

export interface NotificationDelivery {
  wake(): void;
  /** Stops claiming and waits for the POSTs in flight; their rows are delivered or rescheduled. */
  stop(): Promise<void>;
  /** As a crash: stops at once, writes nothing more; leased rows are claimed again when their lease ends. */
  stopHard(): void;
}

const BATCH = 100;
const MAX_IN_FLIGHT = 16;
const RETRY_CAP_MS = 3_600_000;
const KEEP_DELIVERED_MS = 86_400_000;
// Delivery runs on a small pool of its own (LISTEN, the loop, bookkeeping), so that a burst of
// notifications never waits for, nor delays, the connections the exports of the process use.
const DELIVERY_CONNECTIONS = 3;

/**
 * Delivers the outbox at least once: claims due rows (SKIP LOCKED, one lease token per claim,
 * every later write fenced by it), POSTs each subscription's rows as one batch, marks them
 * delivered on a 2xx and otherwise backs off exponentially. A timeout is a failure. A
 * subscription failing for the retry window is removed (subscriptionRemoved to its lifecycle
 * URL), expired ones are swept. Woken by NOTIFY from the outbox trigger.
 */
export async function startNotificationDelivery(opts: DeliveryOptions): Promise<NotificationDelivery> {
  const { config, workerId } = opts;
  const connectionString = opts.db.options.connectionString;
  const db = connectionString ? createPool(connectionString, DELIVERY_CONNECTIONS) : opts.db;
  const logger = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'notifications' });
  // The gauge reads through the process's pool: it outlives this loop's own.
  const counters = notificationMetrics(opts.metrics ?? createMetrics(), opts.db);
  let poolEnded: Promise<void> | undefined;
  const endPool = () => (poolEnded ??= db === opts.db ? Promise.resolve() : db.end());
  const baseMs = opts.retry?.baseMs ?? config.notifications.retryBaseSeconds * 1000;
  const capMs = opts.retry?.capMs ?? RETRY_CAP_MS;
  const windowMs = opts.retry?.windowMs ?? config.notifications.retryWindowSeconds * 1000;
  const leaseMs = config.worker.leaseSeconds * 1000;
  // Within the lease, so that a slow endpoint's rows are not claimed again while still in flight.
  const timeoutMs = Math.min(VALIDATION_TIMEOUT_MS, leaseMs / 2);
  const pollIntervalMs = opts.pollIntervalMs ?? 1000;
  const sweepIntervalMs = opts.sweepIntervalMs ?? 60_000;
  const signer = opts.signer === null ? undefined : (opts.signer ?? (config.auth.localIssuer ? await loadValidationTokenSigner(config.dataDir) : undefined));
  const client = new WebhookClient(config.notifications.allowedOrigins, opts.resolve);
  const emit = (event: DeliveryEvent) => {
    try {
      opts.onEvent?.(event);
    } catch (err) {
      logger.warn({ err: String(err) }, 'delivery event handler threw');
    }
  };

  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let hard = false;
  const signal = createWakeSignal();
  const wake = signal.wake;
  let lastSweep = 0;

  const deliver = async (rows: ClaimedNotification[], token: string): Promise<void> => {
    const first = rows[0]!;
    const ids = rows.map((r) => r.id);
    const answer = await client.post(first.url, await notificationBody(rows, signer), 'application/json', timeoutMs);
    if (hard) return;
    const ok = answer.kind === 'response' && answer.status >= 200 && answer.status < 300;
    if (ok) {
      await markNotificationsDelivered(db, ids, token);
      if (first.kind === 'change') await clearSubscriptionFailing(db, first.subscription_id);
      counters.delivered.inc(rows.length);
      emit({ type: 'delivered', subscriptionId: first.subscription_id, ids });
      return;
    }
    const reason = describeAnswer(answer, timeoutMs);
    counters.failed.inc(rows.length);
    const rescheduled = await rescheduleNotifications(db, ids, token, baseMs, capMs);
    counters.retried.inc(rescheduled);
    if (first.kind === 'change') await markSubscriptionFailing(db, first.subscription_id);
    // Never the URL: its query string may be the receiver's secret.
    logger.warn({ subscriptionId: first.subscription_id, notifications: rows.length, attempts: first.attempts, reason }, 'notification delivery failed');
    emit({ type: 'failed', subscriptionId: first.subscription_id, ids, reason });
  };

  const sweep = async () => {
    lastSweep = Date.now();
    const removed = await removeFailingSubscriptions(db, windowMs);
    if (removed.length > 0) {
      logger.warn({ subscriptionIds: removed }, 'subscriptions removed after failing deliveries');
      emit({ type: 'removed', subscriptionIds: removed });
    }
    await deleteExpiredSubscriptions(db);
    await dropStaleLifecycleNotifications(db, windowMs);
    await deleteDeliveredNotifications(db, KEEP_DELIVERED_MS);
  };

  const loop = async () => {
    while (!stopping) {
      signal.reset();
      try {
        if (Date.now() - lastSweep >= sweepIntervalMs) await sweep();
        const free = MAX_IN_FLIGHT - inFlight.size;
        if (free > 0) {
          const token = randomUUID();
          const rows = await claimNotifications(db, workerId, token, BATCH, leaseMs);
          const groups = new Map<string, ClaimedNotification[]>();
          for (const row of rows) {
            // A batch per subscription (a lifecycle row travels alone to its own URL).
            const key = row.kind === 'change' ? row.subscription_id : row.id;
            groups.set(key, [...(groups.get(key) ?? []), row]);
          }
          for (const group of groups.values()) {
            const p: Promise<void> = deliver(group, token)
              .catch((err: unknown) => logger.warn({ err: String(err), subscriptionId: group[0]!.subscription_id }, 'delivery bookkeeping failed'))
              .finally(() => {
                inFlight.delete(p);
                wake();
              });
            inFlight.add(p);
          }
          if (rows.length === BATCH && inFlight.size < MAX_IN_FLIGHT) continue;
        }
      } catch (err) {
        logger.warn({ err: String(err) }, 'notification delivery loop failed; retrying');
      }
      if (stopping) break;
      await signal.wait(pollIntervalMs);
    }
  };

  const listener = await listenChannel(db, NOTIFICATIONS_CHANNEL, wake, logger);
  const looping = loop();
  const halt = async () => {
    stopping = true;
    wake();
    listener.close();
    await looping;
  };
  return {
    wake,
    async stop() {
      await halt();
      await Promise.allSettled([...inFlight]);
      client.close();
      await endPool();
    },
    stopHard() {
      hard = true;
      void halt()
        .then(endPool)
        .catch(() => undefined);
      client.close();
    },
  };
}
