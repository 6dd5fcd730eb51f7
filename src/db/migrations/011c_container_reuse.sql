-- A container is claimed only while its export is queued or running. Graph's own 409 tells the
-- caller to delete RequestInfo.json and try again: a container whose export ended may be used
-- again, and the worker's write of RequestInfo.json with If-None-Match: * decides (a container
-- that still holds one fails the new operation with StorageLocationAlreadyUsed, writing nothing).
drop index data_policy_operations_container_claim;
create unique index data_policy_operations_container_claim on data_policy_operations (tenant_id, storage_container)
  where status in ('notStarted', 'running');
