-- The claim (docs/architecture.md#operation-lifecycle) takes each tenant's first few waiting
-- operations through the first index: a loose scan over the tenants, then a short range per tenant
-- in claim order, instead of ranking the whole backlog on every claim. Only unfinished rows are
-- indexed, so ended operations (the bulk of the table over time) cost nothing here.
create index data_policy_operations_waiting on data_policy_operations (tenant_id, next_attempt_at, submitted_at, id)
  where status in ('notStarted', 'running');
-- The exports each tenant has running under a live lease count as its first turns: read through
-- this one, a few rows, whatever the length of the queue.
create index data_policy_operations_leased on data_policy_operations (lease_expires_at)
  where status = 'running';
