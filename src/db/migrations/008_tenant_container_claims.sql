-- Container claims are per tenant. A global claim told tenant B that tenant A had used a
-- container (409 on B's POST), and let B hold a predictable container name with a fake SAS so
-- that A's real export was refused. Across tenants the container itself decides: the worker
-- writes RequestInfo.json with If-None-Match: *, so the second export into a used container
-- fails with StorageLocationAlreadyUsed without writing anything.
drop index data_policy_operations_container_claim;
create unique index data_policy_operations_container_claim on data_policy_operations (tenant_id, storage_container)
  where not (status = 'failed' and not request_info_written);
