import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { findOperationView } from '../../../db/queries/operations.ts';
import { OPERATION_PROPERTIES, toGraphOperation } from '../../../domain/operation.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphObject } from '../../graph-reply.ts';
import { GUID_PATTERN, parseSelect, rejectUnknownOptions, selectProperties } from '../../odata.ts';
import { OPERATION_RESPONSE } from './operation-schema.ts';

/** GET /{version}/dataPolicyOperations/{id} (docs/architecture.md#the-operation-resource). */
export function getOperation(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(
    '/dataPolicyOperations/:id',
    { schema: { response: OPERATION_RESPONSE } },
    async (request, reply) => {
      const caller = request.caller;
      requirePermissions(caller, ['User.Export.All', 'User.Read.All']);
      rejectUnknownOptions(request.query, ['$select']);
      const select = parseSelect(request.query.$select, OPERATION_PROPERTIES);
      const { id } = request.params;
      const row = GUID_PATTERN.test(id) ? await findOperationView(deps.db, caller.tenantId, id.toLowerCase()) : undefined;
      if (!row) throw GraphError.notFound(`Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
      const context = `${graphBase(deps, request.graphVersion)}/$metadata#dataPolicyOperations${select ? `(${select.join(',')})` : ''}/$entity`;
      return sendGraphObject(reply, 200, { '@odata.context': context, ...selectProperties(toGraphOperation(row), select) });
    },
  );
}
