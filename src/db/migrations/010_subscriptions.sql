-- Graph change-notification subscriptions and the outbox their notifications are delivered from.

create table subscriptions (
  id uuid primary key,
  tenant_id uuid not null,
  -- As the caller wrote it (Graph echoes it back): 'dataPolicyOperations' or 'dataPolicyOperations/{id}'.
  resource text not null,
  -- The watched collection, and the one item when the resource names one.
  resource_kind text not null check (resource_kind in ('dataPolicyOperations')),
  resource_id uuid,
  change_types text[] not null check (change_types <@ array['created', 'updated', 'deleted'] and cardinality(change_types) > 0),
  -- May carry a secret in its query string: never logged, never shown to another tenant.
  notification_url text not null,
  lifecycle_notification_url text,
  expires_at timestamptz not null,
  client_state text check (char_length(client_state) <= 128),
  application_id text,
  creator_id text,
  latest_supported_tls_version text not null default 'v1_2',
  notification_url_app_id text,
  created_at timestamptz not null default now(),
  -- Set by the first failed delivery since the last success: removal comes when it is too old.
  failing_since timestamptz
);
create index subscriptions_listing on subscriptions (tenant_id, created_at, id);
create index subscriptions_watch on subscriptions (tenant_id, resource_kind);
create index subscriptions_expiry on subscriptions (expires_at);

-- One row per notification to deliver. Change rows are written by the trigger below in the same
-- transaction as the change, so a committed change always has its notification and a rolled-back
-- one never does. Change rows are sent to their subscription's current notificationUrl; lifecycle
-- rows outlive their subscription and carry their own target and snapshot.
create table notification_outbox (
  id uuid primary key default gen_random_uuid(),
  seq bigserial not null,
  subscription_id uuid not null,
  tenant_id uuid not null,
  kind text not null check (kind in ('change', 'lifecycle')),
  change_type text check (change_type in ('created', 'updated', 'deleted')),
  lifecycle_event text check (lifecycle_event in ('subscriptionRemoved')),
  -- Graph's resource path of the changed item, e.g. dataPolicyOperations/{id}.
  resource text,
  resource_type text,
  resource_item_id text,
  target_url text,
  client_state text,
  subscription_expires_at timestamptz,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_owner text,
  lease_token uuid,
  lease_expires_at timestamptz,
  delivered_at timestamptz,
  check ((kind = 'change') = (change_type is not null)),
  check ((kind = 'lifecycle') = (lifecycle_event is not null and target_url is not null))
);
create index notification_outbox_due on notification_outbox (next_attempt_at, seq) where delivered_at is null;
create index notification_outbox_subscription on notification_outbox (subscription_id) where delivered_at is null;
create index notification_outbox_delivered on notification_outbox (delivered_at) where delivered_at is not null;

-- Export operations notify their subscriptions from inside the transaction that changes them:
-- created on insert, updated when the status changes (not on every progress step), deleted on
-- delete. The worker code needs no change for it, and no change can commit without its rows.
create function notify_data_policy_operation_change() returns trigger language plpgsql as $$
declare
  op record;
  change text;
  inserted integer;
begin
  if tg_op = 'INSERT' then
    op := new; change := 'created';
  elsif tg_op = 'DELETE' then
    op := old; change := 'deleted';
  else
    if new.status is not distinct from old.status then return null; end if;
    op := new; change := 'updated';
  end if;
  insert into notification_outbox
    (subscription_id, tenant_id, kind, change_type, resource, resource_type, resource_item_id, subscription_expires_at)
  select s.id, s.tenant_id, 'change', change, 'dataPolicyOperations/' || op.id, '#microsoft.graph.dataPolicyOperation', op.id::text, s.expires_at
  from subscriptions s
  where s.tenant_id = op.tenant_id and s.resource_kind = 'dataPolicyOperations'
    and (s.resource_id is null or s.resource_id = op.id)
    and change = any (s.change_types)
    and s.expires_at > now();
  get diagnostics inserted = row_count;
  if inserted > 0 then perform pg_notify('dsr_notifications', ''); end if;
  return null;
end $$;

create trigger data_policy_operations_notify
  after insert or update of status or delete on data_policy_operations
  for each row execute function notify_data_policy_operation_change();
