import { allRoutes, type ResourceRoutes } from '../../resource-routes.ts';
import { createUser } from './create-user.ts';
import { deleteUserRoute } from './delete-user.ts';
import { getUser } from './get-user.ts';
import { listUsersRoute } from './list-users.ts';
import { updateUserRoute } from './update-user.ts';

/** /users and /users/{id | userPrincipalName}. */
export const userRoutes: ResourceRoutes = {
  graph: allRoutes(createUser, listUsersRoute, getUser, updateUserRoute, deleteUserRoute),
};
