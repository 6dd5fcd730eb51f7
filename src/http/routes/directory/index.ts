import { allRoutes, type ResourceRoutes } from '../../resource-routes.ts';
import { deleteDeletedItemRoute } from './delete-deleted-item.ts';
import { getDeletedItemRoute } from './get-deleted-item.ts';
import { listDeletedUsersRoute } from './list-deleted-users.ts';
import { restoreDeletedItemRoute } from './restore-deleted-item.ts';

/** /directory/deletedItems: soft-deleted users, until restored or purged. */
export const directoryRoutes: ResourceRoutes = {
  graph: allRoutes(listDeletedUsersRoute, getDeletedItemRoute, restoreDeletedItemRoute, deleteDeletedItemRoute),
};
