-- Directory, export operations (also the work queue), directory audits and quota counters.

create table users (
  tenant_id uuid not null,
  id uuid not null,
  user_principal_name text not null,
  display_name text,
  given_name text,
  surname text,
  mail text,
  job_title text,
  department text,
  office_location text,
  mobile_phone text,
  business_phones text[] not null default '{}',
  preferred_language text,
  account_enabled boolean not null default true,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
-- UPNs are case-insensitive in Entra ID.
create unique index users_upn_key on users (tenant_id, lower(user_principal_name));

create table data_policy_operations (
  id uuid primary key,
  tenant_id uuid not null,
  user_id uuid not null,
  user_principal_name text not null,
  -- The full SAS URL: the worker needs its signature. It is never served or logged.
  storage_location text not null,
  -- Scheme, host, port and path of the container (or SAS directory) without the query:
  -- identifies "the same container" whatever SAS was used to name it.
  storage_container text not null,
  status text not null check (status in ('notStarted', 'running', 'complete', 'failed')),
  progress double precision not null default 0 check (progress between 0 and 100),
  submitted_at timestamptz not null default now(),
  completed_at timestamptz,
  requested_by jsonb not null,
  error_code text,
  error_message text,
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_owner text,
  lease_token uuid,
  lease_expires_at timestamptz,
  bytes_planned bigint,
  bytes_written bigint not null default 0,
  request_info_written boolean not null default false
);
create index data_policy_operations_listing on data_policy_operations (tenant_id, submitted_at desc, id desc);
-- One export per container: a container is claimed by every operation except a failed one that
-- never wrote RequestInfo.json (it left the container empty). Enforced here, so concurrent POSTs
-- naming the same container cannot both start an export.
create unique index data_policy_operations_container_claim on data_policy_operations (storage_container)
  where not (status = 'failed' and not request_info_written);
create index data_policy_operations_claimable on data_policy_operations (next_attempt_at)
  where status in ('notStarted', 'running');

create table directory_audits (
  id uuid primary key,
  tenant_id uuid not null,
  activity_at timestamptz not null default now(),
  category text not null,
  activity_display_name text not null,
  operation_type text not null,
  result text not null default 'success',
  result_reason text not null default '',
  logged_by_service text not null default 'dsr-export',
  correlation_id uuid,
  initiated_by jsonb not null,
  target_resources jsonb not null default '[]',
  -- Denormalised so that "audits about this user" is an index lookup, for the API and the export.
  initiator_user_id uuid,
  target_user_id uuid,
  additional_details jsonb not null default '[]'
);
create index directory_audits_listing on directory_audits (tenant_id, activity_at desc, id desc);
create index directory_audits_target on directory_audits (tenant_id, target_user_id);
create index directory_audits_initiator on directory_audits (tenant_id, initiator_user_id);

create table quota_counters (
  tenant_id uuid not null,
  bucket text not null,
  window_start timestamptz not null,
  count integer not null,
  primary key (tenant_id, bucket, window_start)
);
