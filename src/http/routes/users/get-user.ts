import type { FastifyInstance } from 'fastify';
import { requireUserScopedAccess, USER_READ } from '../../../auth/permissions.ts';
import { findUser } from '../../../db/queries/users.ts';
import { toGraphUser, USER_PROPERTIES } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { parseSelect, rejectUnknownOptions, selectProperties } from '../../odata.ts';

export function userNotFound(key: string): GraphError {
  return GraphError.notFound(`Resource '${key}' does not exist or one of its queried reference-property objects are not present.`);
}

/** GET /{version}/users/{id | userPrincipalName} */
export function getUser(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { user: string }; Querystring: Record<string, string> }>('/users/:user', async (request, reply) => {
    requireUserScopedAccess(request.caller, USER_READ, undefined);
    rejectUnknownOptions(request.query, ['$select']);
    const select = parseSelect(request.query.$select, USER_PROPERTIES);
    const user = await findUser(deps.db, request.caller.tenantId, request.params.user);
    requireUserScopedAccess(request.caller, USER_READ, user?.id ?? request.params.user);
    if (!user) throw userNotFound(request.params.user);
    const context = `${graphBase(deps, request.graphVersion)}/$metadata#users${select ? `(${select.join(',')})` : ''}/$entity`;
    return sendGraphJson(reply, 200, { '@odata.context': context, ...selectProperties(toGraphUser(user), select) });
  });
}
