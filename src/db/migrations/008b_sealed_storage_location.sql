-- The SAS of a queued or running export is kept sealed (AES-256-GCM under a key outside the
-- database, src/secrets); storage_location holds the URL with its signature redacted. The sealed
-- copy is dropped when the export ends. Rows queued before this migration keep their clear URL
-- until they end.
alter table data_policy_operations add column storage_location_sealed text;
