-- Subject rights requests (Graph's subjectRightsRequest): the privacy team's case around an export.
-- Stages are derived when a case is read (from the export operation, the review and the close),
-- so nothing has to move a case forward when the worker finishes; only people's changes are stored.

create table subject_rights_requests (
  tenant_id uuid not null,
  id uuid not null,
  display_name text not null,
  description text,
  type text not null check (type in ('access', 'export')),
  data_subject_type text not null,
  -- Graph's dataSubject is an open type: kept as given (the body limit bounds it).
  data_subject jsonb not null,
  regulations text[] not null,
  status text not null check (status in ('active', 'closed')),
  internal_due_at timestamptz not null,
  created_by jsonb not null,
  created_at timestamptz not null,
  last_modified_by jsonb not null,
  last_modified_at timestamptz not null,
  closed_at timestamptz,
  external_id text,
  include_all_versions boolean,
  include_authored_content boolean,
  pause_after_estimate boolean,
  content_query text,
  -- The subject found in the directory, and the export that retrieves their data.
  subject_user_id uuid,
  operation_id uuid references data_policy_operations (id),
  -- The case's own container in the cases storage account.
  storage_container text,
  -- Set when contentRetrieval could not start (no subject, several, no case storage).
  retrieval_error_code text,
  retrieval_error_message text,
  review_completed_at timestamptz,
  -- The package is deleted this long after the close (DSR_CASES_PURGE_DAYS), then purged_at is set.
  purge_after timestamptz,
  purged_at timestamptz,
  primary key (tenant_id, id)
);
-- The list is ordered by due date (and id, for a stable keyset).
create index subject_rights_requests_due on subject_rights_requests (tenant_id, internal_due_at, id);
create index subject_rights_requests_purge on subject_rights_requests (purge_after) where purged_at is null and purge_after is not null;

-- Every change a person (or application) made, with who made it; the service's own stage
-- changes are derived from the export operation when the history is read.
create table subject_rights_request_history (
  tenant_id uuid not null,
  request_id uuid not null,
  seq bigint generated always as identity,
  event_at timestamptz not null,
  type text not null,
  stage text not null,
  stage_status text not null,
  changed_by jsonb not null,
  primary key (tenant_id, request_id, seq),
  foreign key (tenant_id, request_id) references subject_rights_requests (tenant_id, id) on delete cascade
);

create table subject_rights_request_notes (
  tenant_id uuid not null,
  request_id uuid not null,
  id uuid not null,
  author jsonb not null,
  content text not null,
  content_type text not null check (content_type in ('text', 'html')),
  created_at timestamptz not null,
  primary key (tenant_id, request_id, id),
  foreign key (tenant_id, request_id) references subject_rights_requests (tenant_id, id) on delete cascade
);
create index subject_rights_request_notes_order on subject_rights_request_notes (tenant_id, request_id, created_at, id);

-- Package files the privacy officer left out of the final attachment, and why.
create table subject_rights_request_exclusions (
  tenant_id uuid not null,
  request_id uuid not null,
  path text not null,
  reason text not null,
  excluded_by jsonb not null,
  excluded_at timestamptz not null,
  primary key (tenant_id, request_id, path),
  foreign key (tenant_id, request_id) references subject_rights_requests (tenant_id, id) on delete cascade
);

-- The per-tenant Art. 15 privacy statement (an extension of this service).
create table privacy_statements (
  tenant_id uuid primary key,
  statement jsonb not null,
  updated_by jsonb not null,
  updated_at timestamptz not null
);
