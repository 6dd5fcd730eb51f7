-- Package sections stream their larger rendered files into the content store ('rendered' rows,
-- pinned like drive content); only small ones keep their bytes in export_files.body ('inline').
alter table export_files drop constraint export_files_source_check;
alter table export_files add constraint export_files_source_check check (source in ('inline', 'content', 'rendered'));

-- ActivityOnOtherDrives: what the subject did on other users' drives, found by the acting user.
create index drive_activities_actor on drive_activities (tenant_id, (actor -> 'user' ->> 'id'));
