-- Subscriptions may watch subject rights requests (cases) too. A case changes when a person
-- changes it (its row) and when its export moves on (its stages are derived from the operation),
-- so both tables' triggers queue its notifications, in the transaction of the change.

alter table subscriptions drop constraint subscriptions_resource_kind_check;
alter table subscriptions add constraint subscriptions_resource_kind_check
  check (resource_kind in ('dataPolicyOperations', 'security/subjectRightsRequests'));

-- One outbox row per subscription of the tenant that watches this item (or its whole collection)
-- for this change type; a NOTIFY wakes the deliverers when there is any.
create function queue_change_notifications(
  p_tenant uuid, p_kind text, p_item uuid, p_change text, p_odata_type text
) returns void language plpgsql as $$
declare
  inserted integer;
begin
  insert into notification_outbox
    (subscription_id, tenant_id, kind, change_type, resource, resource_type, resource_item_id, subscription_expires_at)
  select s.id, s.tenant_id, 'change', p_change, p_kind || '/' || p_item, p_odata_type, p_item::text, s.expires_at
  from subscriptions s
  where s.tenant_id = p_tenant and s.resource_kind = p_kind
    and (s.resource_id is null or s.resource_id = p_item)
    and p_change = any (s.change_types)
    and s.expires_at > now();
  get diagnostics inserted = row_count;
  if inserted > 0 then perform pg_notify('dsr_notifications', ''); end if;
end $$;

create or replace function notify_data_policy_operation_change() returns trigger language plpgsql as $$
declare
  op record;
  change text;
  request record;
begin
  if tg_op = 'INSERT' then
    op := new; change := 'created';
  elsif tg_op = 'DELETE' then
    op := old; change := 'deleted';
  else
    if new.status is not distinct from old.status then return null; end if;
    op := new; change := 'updated';
  end if;
  perform queue_change_notifications(op.tenant_id, 'dataPolicyOperations', op.id, change, '#microsoft.graph.dataPolicyOperation');
  -- The case that runs this export has moved to another stage (or stage status).
  if tg_op = 'UPDATE' then
    for request in select r.tenant_id, r.id from subject_rights_requests r where r.operation_id = op.id loop
      perform queue_change_notifications(request.tenant_id, 'security/subjectRightsRequests', request.id, 'updated',
        '#microsoft.graph.subjectRightsRequest');
    end loop;
  end if;
  return null;
end $$;

create function notify_subject_rights_request_change() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    perform queue_change_notifications(new.tenant_id, 'security/subjectRightsRequests', new.id, 'created', '#microsoft.graph.subjectRightsRequest');
  elsif tg_op = 'DELETE' then
    perform queue_change_notifications(old.tenant_id, 'security/subjectRightsRequests', old.id, 'deleted', '#microsoft.graph.subjectRightsRequest');
  elsif new is distinct from old then
    perform queue_change_notifications(new.tenant_id, 'security/subjectRightsRequests', new.id, 'updated', '#microsoft.graph.subjectRightsRequest');
  end if;
  return null;
end $$;

create trigger subject_rights_requests_notify
  after insert or update or delete on subject_rights_requests
  for each row execute function notify_subject_rights_request_change();

-- Cases are found by their export when it changes.
create index if not exists subject_rights_requests_operation on subject_rights_requests (operation_id) where operation_id is not null;
