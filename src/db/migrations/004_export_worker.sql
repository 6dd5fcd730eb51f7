-- The export worker's state (docs/architecture.md#package-layout, #operation-lifecycle): the fixed plan of every package with per-file
-- checkpoints, and the pins that keep planned content alive while an export runs.

-- Shared with the content garbage collector (its migration 003 creates the same table): a
-- sha256 listed here is never collected. Same shape, so whichever migration runs first wins.
create table if not exists content_pins (
  sha256 text not null,
  operation_id uuid not null,
  primary key (sha256, operation_id)
);

-- One row per file of a package, written once when the worker first fixes the plan
-- (data_policy_operations.bytes_planned is set in the same transaction: "plan fixed").
create table export_files (
  operation_id uuid not null references data_policy_operations (id) on delete cascade,
  -- Upload order: 0 is RequestInfo.json (written first), the highest is manifest.json (last).
  seq integer not null,
  -- Relative to the package root (the container, or the SAS's directory).
  path text not null,
  size bigint not null check (size >= 0),
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  content_type text not null,
  -- 'inline': metadata rendered at plan time, bytes in `body` (the snapshot);
  -- 'content': a drive file streamed from the content store by sha256.
  source text not null check (source in ('inline', 'content')),
  body bytea,
  done boolean not null default false,
  done_at timestamptz,
  primary key (operation_id, path),
  unique (operation_id, seq),
  -- Inline bodies are dropped once the operation has ended; content files never have one.
  check (source = 'inline' or body is null)
);
