-- Inline bodies (the plan's metadata: DriveItems.json is ≈1 KB per drive item) live only while
-- their export runs, and are written once inside the plan transaction, which every export waits
-- for. pglz compression took ≈25 ms of it for 2 MB; the disk they would save is given back at
-- the end of the export anyway.
alter table export_files alter column body set storage external;
