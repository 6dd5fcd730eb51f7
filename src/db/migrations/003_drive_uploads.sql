-- Drive upload sessions, content pins (kept by the garbage collector) and drive indexes.

-- A resumable upload (createUploadSession). The uploadUrl carries a random secret; only its
-- SHA-256 is stored, so a database dump does not hand out upload rights. No foreign key on the
-- user: the collector removes sessions of deleted users together with their staged bytes
-- (a cascade would drop the row and leave the bytes behind).
create table upload_sessions (
  token_sha256 text primary key check (token_sha256 ~ '^[0-9a-f]{64}$'),
  -- Names the session's staging in the content store.
  id uuid not null unique,
  tenant_id uuid not null,
  owner_user_id uuid not null,
  -- Segments of the item's path below the drive root, as given (validated names).
  item_path text[] not null,
  conflict_behavior text not null check (conflict_behavior in ('replace', 'fail')),
  -- Known from item.fileSize or from the first fragment's Content-Range; fixed afterwards.
  total_size bigint check (total_size >= 0),
  next_offset bigint not null default 0 check (next_offset >= 0),
  -- Opaque part ids returned by the content store, in file order.
  staged_parts text[] not null default '{}',
  created_by jsonb not null,
  app_id text,
  created_at timestamptz not null,
  expires_at timestamptz not null
);
create index upload_sessions_expiry on upload_sessions (expires_at);
create index upload_sessions_owner on upload_sessions (tenant_id, owner_user_id);

-- Content an unfinished export still needs: the export worker pins every hash of its plan when it
-- fixes the plan and unpins when the operation ends; the collector never removes pinned content.
create table content_pins (
  sha256 text not null,
  operation_id uuid not null,
  pinned_at timestamptz not null default now(),
  primary key (sha256, operation_id)
);
create index content_pins_operation on content_pins (operation_id);

-- Children of a folder by name (path walks and listings); 002's unique index wraps parent_id in
-- coalesce, which these lookups cannot use.
create index drive_items_children on drive_items (tenant_id, parent_id, lower(name));
create index content_blobs_age on content_blobs (created_at);
