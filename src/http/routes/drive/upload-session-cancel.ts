import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';
import { dropSession, loadLiveSession, UPLOAD_SESSION_PATH } from './upload-session-shared.ts';

/** DELETE {uploadUrl}: cancels the session and drops its staged bytes; 204. */
export function uploadSessionCancelRoute(app: FastifyInstance, deps: AppDeps): void {
  app.delete<{ Params: { token: string } }>(UPLOAD_SESSION_PATH, async (request, reply) => {
    await dropSession(deps, await loadLiveSession(deps, request.params.token));
    return reply.code(204).send();
  });
}
