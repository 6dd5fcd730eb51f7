-- Indexes for GET /auditLogs/signIns and /auditLogs/directoryAudits: every listing is newest
-- first with a (time, id) keyset, per tenant, optionally narrowed to one user.

-- Tenant-wide sign-in listing (002 only indexes per user).
create index sign_ins_listing on sign_ins (tenant_id, created_at desc, id desc);
-- $filter=userPrincipalName eq '…' matches the UPN recorded at sign-in time (it may differ from
-- the user's current UPN after a rename), case-insensitively as Entra ID compares UPNs.
create index sign_ins_upn on sign_ins (tenant_id, lower(data ->> 'userPrincipalName'), created_at desc);

-- $filter=targetResources/any(t: t/id eq '…') is a jsonb containment test; target_user_id only
-- holds the first user target, while an audit may name several targets of any type.
create index directory_audits_targets on directory_audits using gin (target_resources jsonb_path_ops);
