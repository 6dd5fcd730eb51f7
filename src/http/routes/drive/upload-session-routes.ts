import type { FastifyInstance } from 'fastify';
import type { QuotaCounter } from '../../../quota/quota-counter.ts';
import type { AppDeps } from '../../app-deps.ts';
import { withRawBody } from './drive-shared.ts';
import { uploadSessionCancelRoute } from './upload-session-cancel.ts';
import { uploadSessionCommitRoute } from './upload-session-commit.ts';
import { uploadSessionFragmentRoute } from './upload-session-fragment.ts';
import { uploadSessionStatusRoute } from './upload-session-status.ts';

/**
 * The uploadUrl routes, outside /v1.0 and /beta and without the bearer-token hook: the URL's
 * secret is the credential (see create-upload-session.ts). Fragments are streamed, never parsed.
 */
export function uploadSessionRoutes(app: FastifyInstance, deps: AppDeps, quotas: QuotaCounter): void {
  withRawBody(app, (scope) => {
    uploadSessionFragmentRoute(scope, deps, quotas);
    uploadSessionStatusRoute(scope, deps);
    uploadSessionCancelRoute(scope, deps);
    uploadSessionCommitRoute(scope, deps);
  });
}
