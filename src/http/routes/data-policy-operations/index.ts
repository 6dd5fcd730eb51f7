import { allRoutes, type ResourceRoutes } from '../../resource-routes.ts';
import { exportPersonalData } from './export-personal-data.ts';
import { getOperation } from './get-operation.ts';
import { listOperationsRoute } from './list-operations.ts';

/** POST /users/{id}/exportPersonalData and the dataPolicyOperation it starts. */
export const dataPolicyOperationRoutes: ResourceRoutes = {
  graph: allRoutes(exportPersonalData, getOperation, listOperationsRoute),
};
