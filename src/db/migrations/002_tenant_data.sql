-- The data a DSR export must include: drive items and their content, drive activity, sign-ins.
-- Everything that belongs to a user goes when the user goes (on delete cascade); the directory
-- audit trail of the deletion stays (directory_audits has no foreign key on users).

-- Immutable, content-addressed file bodies (the bytes live in the content store).
create table content_blobs (
  sha256 text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint not null check (size >= 0),
  created_at timestamptz not null default now()
);

create table drive_items (
  tenant_id uuid not null,
  id uuid not null,
  -- One drive per user; the drive id is the owner's object id.
  owner_user_id uuid not null,
  -- null only for the drive's root folder.
  parent_id uuid,
  name text not null,
  is_folder boolean not null,
  size bigint not null default 0,
  mime_type text,
  content_sha256 text references content_blobs (sha256),
  created_at timestamptz not null,
  modified_at timestamptz not null,
  -- Graph identitySet: {"user": {"id", "displayName"}} or {"application": {"id", "displayName"}}.
  created_by jsonb not null,
  modified_by jsonb not null,
  primary key (tenant_id, id),
  foreign key (tenant_id, owner_user_id) references users (tenant_id, id) on delete cascade,
  foreign key (tenant_id, parent_id) references drive_items (tenant_id, id) on delete cascade,
  check (is_folder = (content_sha256 is null))
);
-- OneDrive names are case-insensitive within a folder; the root is unique per drive.
create unique index drive_items_name_key on drive_items (tenant_id, owner_user_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));
create index drive_items_content on drive_items (content_sha256);

-- Drive activity (FileUploaded, FileModified, FileAccessed, FileDownloaded, FileDeleted, FolderCreated),
-- written in the same transaction as the change it describes.
create table drive_activities (
  tenant_id uuid not null,
  id uuid not null,
  -- The drive's owner: the person the record is about, whose export includes it.
  user_id uuid not null,
  activity_at timestamptz not null,
  activity_type text not null,
  actor jsonb not null,
  item_id uuid,
  item_path text,
  client_ip text,
  user_agent text,
  app_id text,
  primary key (tenant_id, id),
  foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index drive_activities_user on drive_activities (tenant_id, user_id, activity_at);

-- Sign-ins arrive by import (Graph signIn JSON); `data` keeps the record as imported.
create table sign_ins (
  tenant_id uuid not null,
  id uuid not null,
  user_id uuid not null,
  created_at timestamptz not null,
  data jsonb not null,
  primary key (tenant_id, id),
  foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index sign_ins_user on sign_ins (tenant_id, user_id, created_at desc);
