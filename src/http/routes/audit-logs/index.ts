import { allRoutes, type ResourceRoutes } from '../../resource-routes.ts';
import { listDirectoryAuditsRoute } from './list-directory-audits.ts';
import { listSignInsRoute } from './list-sign-ins.ts';

/** /auditLogs/signIns and /auditLogs/directoryAudits. */
export const auditLogRoutes: ResourceRoutes = {
  graph: allRoutes(listSignInsRoute, listDirectoryAuditsRoute),
};
