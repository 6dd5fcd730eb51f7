import { Counter, Gauge } from 'prom-client';
import type { Queryable } from '../db/pool.ts';
import { countNotificationBacklog } from '../db/queries/subscriptions.ts';
import type { Metrics } from '../metrics.ts';

export interface NotificationMetrics {
  readonly delivered: Counter;
  readonly failed: Counter;
  readonly retried: Counter;
}

const byRegistry = new WeakMap<Metrics, NotificationMetrics>();

/**
 * The notification counters, on the process's registry (once, whoever asks first), and the
 * outbox backlog gauge, read from PostgreSQL at scrape time like the export queue gauges.
 */
export function notificationMetrics(metrics: Metrics, db: Queryable): NotificationMetrics {
  let found = byRegistry.get(metrics);
  if (found) return found;
  const registers = [metrics.registry];
  found = {
    delivered: new Counter({ name: 'dsr_notifications_delivered_total', help: 'Change and lifecycle notifications delivered (2xx).', registers }),
    failed: new Counter({
      name: 'dsr_notifications_failed_total',
      help: 'Notification POSTs that failed (error status, timeout, refused connection).',
      registers,
    }),
    retried: new Counter({ name: 'dsr_notifications_retried_total', help: 'Notifications rescheduled after a failed delivery.', registers }),
  };
  new Gauge({
    name: 'dsr_notification_outbox_backlog',
    help: 'Notifications written but not yet delivered.',
    registers,
    async collect() {
      // A database that does not answer keeps the last value rather than reporting an empty outbox.
      const backlog = await countNotificationBacklog(db).catch(() => undefined);
      if (backlog !== undefined) this.set(backlog);
    },
  });
  byRegistry.set(metrics, found);
  return found;
}
