-- A package's plan rows are written once, then each is updated once, when its file is
-- checkpointed (done, done_at: no indexed column). With half of each page left free that update
-- stays on the row's page and adds no index entry (a HOT update). On full pages, four in five
-- checkpoints of a 2,000-file package wrote the row elsewhere, with a new entry in both unique
-- indexes for vacuum to clean up.
alter table export_files set (fillfactor = 50);
