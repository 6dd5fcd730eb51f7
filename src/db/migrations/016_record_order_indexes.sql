-- A subject's sign-ins and drive activity are read in (time, id) order: the export's COPYs and
-- the per-user listings. With the id in the index the rows come out of the index in that order;
-- without it PostgreSQL sorted every row of a large subject, the rendered text included, and
-- spilled a few hundred megabytes to temporary files per section at a million records.
-- Sign-ins keep the newest-first direction the listings read (the export scans it backwards).
create index sign_ins_user_order on sign_ins (tenant_id, user_id, created_at desc, id desc);
drop index sign_ins_user;
create index drive_activities_user_order on drive_activities (tenant_id, user_id, activity_at, id);
drop index drive_activities_user;
