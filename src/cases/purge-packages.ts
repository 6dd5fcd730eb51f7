import { inTransaction, type Db } from '../db/pool.ts';
import { insertDirectoryAudit } from '../db/queries/directory-audits.ts';
import { listPurgeableRequests, markPurged } from '../db/queries/subject-rights-requests.ts';
import { auditRecord } from '../domain/directory-audit.ts';
import type { Requester } from '../domain/operation.ts';
import { startPeriodicTask } from '../runtime/periodic-task.ts';
import type { CaseStorage } from './case-storage.ts';

/** The service itself, as the initiator of the purge audit record. */
const SERVICE_REQUESTER: Requester = { kind: 'application', appId: '00000000-0000-0000-0000-000000000000', oid: '00000000-0000-0000-0000-000000000000' };

/**
 * Deletes the packages of cases closed longer ago than the retention (purge_after has passed),
 * with an audit record each. A package that cannot be deleted now (storage away) stays due and
 * is tried again at the next sweep. Returns how many were purged.
 */
export async function purgeCasePackages(db: Db, storage: CaseStorage | undefined, now: Date): Promise<number> {
  let purged = 0;
  for (;;) {
    const due = await listPurgeableRequests(db, now, 100);
    for (const row of due) {
      if (row.storage_container) {
        if (!storage) return purged;
        await storage.purge(row.storage_container);
      }
      await inTransaction(db, async (tx) => {
        if (!(await markPurged(tx, row.tenant_id, row.id, now)) || !row.storage_container) return;
        const email = typeof row.data_subject.email === 'string' ? row.data_subject.email : '';
        await insertDirectoryAudit(
          tx,
          auditRecord({
            tenantId: row.tenant_id,
            now,
            activity: 'Subject rights request package purged',
            operationType: 'Delete',
            requester: SERVICE_REQUESTER,
            ipAddress: null,
            target: { id: row.subject_user_id ?? row.id, userPrincipalName: email },
            correlationId: row.id,
            details: { subjectRightsRequestId: row.id, closedDateTime: row.closed_at?.toISOString() ?? '', container: row.storage_container },
          }),
        );
      });
      purged++;
    }
    if (due.length < 100) return purged;
  }
}

/** The purge sweep of `serve`, every `intervalSeconds`; stop() waits for a sweep in progress. */
export function startCasePurge(
  db: Db,
  storage: CaseStorage | undefined,
  opts: { intervalSeconds: number; onError?: (err: unknown) => void },
): { stop(): Promise<void> } {
  return startPeriodicTask(() => purgeCasePackages(db, storage, new Date()), opts);
}
