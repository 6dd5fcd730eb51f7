-- One-time sign-in links of the browser console (local issuer only). Only the SHA-256 of the
-- link's nonce is stored, so a copy of this table cannot sign anyone in. A link is spent by the
-- update that sets used_at, which succeeds once; expired and used rows are deleted as new ones
-- are made.
create table console_sign_in_links (
  nonce_hash bytea primary key,
  tenant_id uuid not null,
  user_id uuid not null,
  admin boolean not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz
);
