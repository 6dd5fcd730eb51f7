-- Graph fidelity of the drive and directory routes.

-- OneDrive for Business's content hash, computed while the bytes stream in. Content is addressed
-- by SHA-256, so the quickXorHash belongs to the body, not to each item that uses it. Bodies
-- stored before this migration have none until they are uploaded again.
alter table content_blobs add column quick_xor_hash text;

-- Upload sessions: the Graph version the session was created under (its completion answers with
-- that version's @odata.context), deferCommit, and conflictBehavior rename.
alter table upload_sessions add column graph_version text not null default 'v1.0';
alter table upload_sessions add column defer_commit boolean not null default false;
alter table upload_sessions drop constraint upload_sessions_conflict_behavior_check;
alter table upload_sessions add constraint upload_sessions_conflict_behavior_check
  check (conflict_behavior in ('replace', 'fail', 'rename'));

-- Secrets the service makes for itself and shares between its processes: the key that signs
-- pre-authenticated download URLs (@microsoft.graph.downloadUrl) lives here, so any process can
-- serve a URL another one handed out.
create table service_keys (
  name text primary key,
  secret bytea not null check (length(secret) >= 32),
  created_at timestamptz not null default now()
);
