-- Public halves of the keys that sign export packages (manifest.json.jws). Every worker registers
-- its key here when it first signs, so any API process publishes every worker's key in
-- /.well-known/jwks.json, whatever machine or data folder the worker runs on. Rows are never
-- deleted: a package signed years ago must still verify after its worker's key was replaced.
create table package_signing_keys (
  kid text primary key,
  public_jwk jsonb not null,
  created_at timestamptz not null default now()
);
