import type { ResourceKind, SubscriptionRow } from '../../subscriptions/subscription.ts';
import type { Queryable } from '../pool.ts';

export const NOTIFICATIONS_CHANNEL = 'dsr_notifications';

export interface NewSubscription {
  id: string;
  tenantId: string;
  resource: string;
  resourceKind: ResourceKind;
  resourceId: string | null;
  changeTypes: string[];
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  expiresAt: Date;
  clientState: string | null;
  applicationId: string | null;
  creatorId: string | null;
  latestSupportedTlsVersion: string;
  notificationUrlAppId: string | null;
}

export async function insertSubscription(q: Queryable, s: NewSubscription): Promise<SubscriptionRow> {
  const { rows } = await q.query<SubscriptionRow>(
    `insert into subscriptions (id, tenant_id, resource, resource_kind, resource_id, change_types, notification_url,
       lifecycle_notification_url, expires_at, client_state, application_id, creator_id, latest_supported_tls_version, notification_url_app_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     returning *`,
    [
      s.id,
      s.tenantId,
      s.resource,
      s.resourceKind,
      s.resourceId,
      s.changeTypes,
      s.notificationUrl,
      s.lifecycleNotificationUrl,
      s.expiresAt,
      s.clientState,
      s.applicationId,
      s.creatorId,
      s.latestSupportedTlsVersion,
      s.notificationUrlAppId,
    ],
  );
  return rows[0]!;
}

/** An expired subscription no longer exists for its owner, even before the sweep removes it. */
export async function findSubscription(q: Queryable, tenantId: string, id: string): Promise<SubscriptionRow | undefined> {
  const { rows } = await q.query<SubscriptionRow>('select * from subscriptions where tenant_id = $1 and id = $2 and expires_at > now()', [tenantId, id]);
  return rows[0];
}

/**
 * One page in creation order of the subscriptions watching `kinds`; `after` is the (created_at to
 * the microsecond, id) of the previous page's last row.
 */
export async function listSubscriptions(
  q: Queryable,
  tenantId: string,
  opts: { kinds: readonly ResourceKind[]; limit: number; after?: { createdAt: string; id: string } },
): Promise<(SubscriptionRow & { created_cursor: string })[]> {
  const { rows } = await q.query<SubscriptionRow & { created_cursor: string }>(
    `select *, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_cursor
     from subscriptions
     where tenant_id = $1 and expires_at > now() and resource_kind = any($5::text[])
       and ($2::timestamptz is null or (created_at, id) > ($2::timestamptz, $3::uuid))
     order by created_at, id
     limit $4`,
    [tenantId, opts.after?.createdAt ?? null, opts.after?.id ?? null, opts.limit, opts.kinds],
  );
  return rows;
}

/** Whether a subject rights request with this id exists in the tenant (a subscription may watch it). */
export async function subjectRightsRequestExists(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('select 1 from subject_rights_requests where tenant_id = $1 and id = $2', [tenantId, id]);
  return rowCount === 1;
}

export async function countActiveSubscriptions(q: Queryable, tenantId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>('select count(*)::int as n from subscriptions where tenant_id = $1 and expires_at > now()', [tenantId]);
  return rows[0]!.n;
}

/** PATCH: a new expiry and/or notificationUrl (already validated by the handshake). */
export async function updateSubscription(
  q: Queryable,
  tenantId: string,
  id: string,
  changes: { expiresAt: Date | null; notificationUrl: string | null },
): Promise<SubscriptionRow | undefined> {
  const { rows } = await q.query<SubscriptionRow>(
    `update subscriptions
     set expires_at = coalesce($3, expires_at), notification_url = coalesce($4, notification_url),
         failing_since = case when $4::text is null then failing_since end
     where tenant_id = $1 and id = $2 and expires_at > now()
     returning *`,
    [tenantId, id, changes.expiresAt, changes.notificationUrl],
  );
  return rows[0];
}

/** DELETE: the subscription and the change notifications it has not yet delivered. */
export async function deleteSubscription(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rows } = await q.query<{ n: number }>(
    `with gone as (
       delete from subscriptions where tenant_id = $1 and id = $2 and expires_at > now() returning id
     ), pending as (
       delete from notification_outbox where subscription_id in (select id from gone) and kind = 'change' and delivered_at is null
     )
     select count(*)::int as n from gone`,
    [tenantId, id],
  );
  return rows[0]!.n === 1;
}

/** A claimed notification with what its POST needs. */
export interface ClaimedNotification {
  id: string;
  seq: number;
  subscription_id: string;
  tenant_id: string;
  kind: 'change' | 'lifecycle';
  change_type: string | null;
  lifecycle_event: string | null;
  resource: string | null;
  resource_type: string | null;
  resource_item_id: string | null;
  attempts: number;
  /** The subscription's current notificationUrl for a change, the stored lifecycle URL otherwise. */
  url: string;
  client_state: string | null;
  subscription_expires_at: Date;
  audience: string | null;
}

/**
 * Claims up to `limit` due notifications for `owner` under one lease token (fencing: every later
 * write must match it). A row whose lease ran out (a worker that died mid-delivery) is due again.
 * Change rows of a subscription that is gone or expired are never claimed (the sweep drops them).
 */
export async function claimNotifications(q: Queryable, owner: string, token: string, limit: number, leaseMs: number): Promise<ClaimedNotification[]> {
  const { rows } = await q.query<ClaimedNotification>(
    `with due as (
       select o.id from notification_outbox o
       left join subscriptions s on s.id = o.subscription_id
       where o.delivered_at is null and o.next_attempt_at <= now()
         and (o.lease_expires_at is null or o.lease_expires_at <= now())
         and (o.kind = 'lifecycle' or s.expires_at > now())
       order by o.next_attempt_at, o.seq
       limit $3
       for update of o skip locked
     ), claimed as (
       update notification_outbox o
       set lease_owner = $1, lease_token = $2, lease_expires_at = now() + make_interval(secs => $4::double precision / 1000),
           attempts = o.attempts + 1
       from due where o.id = due.id
       returning o.*
     )
     select c.id, c.seq, c.subscription_id, c.tenant_id, c.kind, c.change_type, c.lifecycle_event, c.resource, c.resource_type,
            c.resource_item_id, c.attempts,
            coalesce(c.target_url, s.notification_url) as url,
            case when c.kind = 'lifecycle' then c.client_state else s.client_state end as client_state,
            case when c.kind = 'lifecycle' then c.subscription_expires_at else s.expires_at end as subscription_expires_at,
            coalesce(s.notification_url_app_id, s.application_id) as audience
     from claimed c left join subscriptions s on s.id = c.subscription_id
     order by c.seq`,
    [owner, token, limit, leaseMs],
  );
  return rows;
}

/** Fenced: only rows still leased under `token` are marked delivered. */
export async function markNotificationsDelivered(q: Queryable, ids: string[], token: string): Promise<number> {
  const { rowCount } = await q.query(
    `update notification_outbox set delivered_at = now(), lease_owner = null, lease_expires_at = null
     where id = any($1::uuid[]) and lease_token = $2 and delivered_at is null`,
    [ids, token],
  );
  return rowCount ?? 0;
}

/** Fenced: the next attempt after base * 2^(attempts-1), at most `capMs` away. */
export async function rescheduleNotifications(q: Queryable, ids: string[], token: string, baseMs: number, capMs: number): Promise<number> {
  const { rowCount } = await q.query(
    `update notification_outbox
     set next_attempt_at = now() + make_interval(secs => least($3::double precision * power(2, least(attempts - 1, 40)), $4::double precision) / 1000),
         lease_owner = null, lease_token = null, lease_expires_at = null
     where id = any($1::uuid[]) and lease_token = $2 and delivered_at is null`,
    [ids, token, baseMs, capMs],
  );
  return rowCount ?? 0;
}

/** A delivery succeeded: the subscription is healthy again. */
export async function clearSubscriptionFailing(q: Queryable, subscriptionId: string): Promise<void> {
  await q.query('update subscriptions set failing_since = null where id = $1 and failing_since is not null', [subscriptionId]);
}

/** A delivery failed: remembers since when the subscription has been failing. */
export async function markSubscriptionFailing(q: Queryable, subscriptionId: string): Promise<void> {
  await q.query('update subscriptions set failing_since = coalesce(failing_since, now()) where id = $1', [subscriptionId]);
}

/**
 * Removes subscriptions that have been failing for `windowMs` with their undelivered change
 * notifications, and queues `subscriptionRemoved` for those with a lifecycle URL, all in one
 * statement. Returns the ids removed.
 */
export async function removeFailingSubscriptions(q: Queryable, windowMs: number): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `with gone as (
       delete from subscriptions
       where failing_since is not null and failing_since <= now() - make_interval(secs => $1::double precision / 1000)
       returning *
     ), pending as (
       delete from notification_outbox where subscription_id in (select id from gone) and kind = 'change' and delivered_at is null
     ), lifecycle as (
       insert into notification_outbox (subscription_id, tenant_id, kind, lifecycle_event, target_url, client_state, subscription_expires_at)
       select id, tenant_id, 'lifecycle', 'subscriptionRemoved', lifecycle_notification_url, client_state, expires_at
       from gone where lifecycle_notification_url is not null
     )
     select id from gone`,
    [windowMs],
  );
  return rows.map((r) => r.id);
}

/** The sweep: expired subscriptions with their undelivered changes, and change rows left without a subscription. */
export async function deleteExpiredSubscriptions(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `with gone as (
       delete from subscriptions where expires_at <= now() returning id
     ), orphans as (
       delete from notification_outbox o
       where o.kind = 'change' and o.delivered_at is null
         and (o.subscription_id in (select id from gone) or not exists (select 1 from subscriptions s where s.id = o.subscription_id))
     )
     select count(*)::int as n from gone`,
  );
  return rows[0]!.n;
}

/** A lifecycle notification nobody accepted within the retry window is given up. */
export async function dropStaleLifecycleNotifications(q: Queryable, windowMs: number): Promise<number> {
  const { rowCount } = await q.query(
    `delete from notification_outbox
     where kind = 'lifecycle' and delivered_at is null and created_at < now() - make_interval(secs => $1::double precision / 1000)`,
    [windowMs],
  );
  return rowCount ?? 0;
}

/** Delivered rows are kept a while (de-duplication evidence, debugging), then dropped. */
export async function deleteDeliveredNotifications(q: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await q.query(`delete from notification_outbox where delivered_at < now() - make_interval(secs => $1::double precision / 1000)`, [
    olderThanMs,
  ]);
  return rowCount ?? 0;
}

/** For /metrics: notifications written but not yet delivered. */
export async function countNotificationBacklog(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>('select count(*)::int as n from notification_outbox where delivered_at is null');
  return rows[0]!.n;
}
