import type { FastifyInstance } from 'fastify';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { finishUploadSession } from './upload-session-fragment.ts';
import { loadLiveSession, UPLOAD_SESSION_PATH } from './upload-session-shared.ts';

/**
 * POST {uploadUrl} with an empty body: the explicit commit of a deferCommit session, once every
 * byte has arrived; 201 (new file) or 200 (replaced) with the driveItem, as OneDrive answers.
 */
export function uploadSessionCommitRoute(app: FastifyInstance, deps: AppDeps): void {
  app.post<{ Params: { token: string } }>(UPLOAD_SESSION_PATH, async (request, reply) => {
    const session = await loadLiveSession(deps, request.params.token);
    if (session.total_size === null || session.next_offset < session.total_size) {
      throw GraphError.invalidRequest('The upload session is missing bytes; send every fragment before committing it.');
    }
    return finishUploadSession(deps, request, reply, session);
  });
}
