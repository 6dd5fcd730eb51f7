import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';
import { loadLiveSession, sendSessionState, UPLOAD_SESSION_PATH } from './upload-session-shared.ts';

/** GET {uploadUrl}: where to resume, e.g. after a dropped connection (the half-sent fragment is not counted). */
export function uploadSessionStatusRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { token: string } }>(UPLOAD_SESSION_PATH, async (request, reply) => {
    return sendSessionState(reply, 200, await loadLiveSession(deps, request.params.token));
  });
}
