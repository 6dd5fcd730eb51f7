-- DELETE /users/{id} is a soft delete, as in Entra ID: the user moves to
-- /directory/deletedItems for 30 days (restorable, still exportable), then is purged, and only
-- then do its drive, activity and sign-ins go (foreign keys cascade). The UPN stays taken
-- until the purge, as Entra keeps it.
alter table users add column deleted_at timestamptz;
create index users_deleted on users (tenant_id, deleted_at) where deleted_at is not null;
