import type { FastifyReply } from 'fastify';
import { deleteUploadSession, findUploadSession, type UploadSessionRow } from '../../../db/queries/upload-sessions.ts';
import { nextExpectedRanges } from '../../../domain/drive-item.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { graphDateTime } from '../../odata.ts';
import { uploadTokenHash } from './create-upload-session.ts';

export const UPLOAD_SESSION_PATH = '/upload-sessions/:token';

export function sessionNotFound(): GraphError {
  return GraphError.itemNotFound('The upload session does not exist, was cancelled or has expired; create a new one.');
}

/** Removes a session and its staged bytes (cancelled, expired, finished badly). */
export async function dropSession(deps: AppDeps, session: UploadSessionRow): Promise<void> {
  await deleteUploadSession(deps.db, session.id);
  await deps.contentStore.discardStaged(session.id).catch((err: unknown) => {
    deps.logger?.warn({ err, uploadSessionId: session.id }, 'staged upload bytes not removed; the collector retries');
  });
}

/** The session an uploadUrl names; an expired one is cleaned up here and answered 404, as OneDrive does. */
export async function loadLiveSession(deps: AppDeps, token: string): Promise<UploadSessionRow> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw sessionNotFound();
  const session = await findUploadSession(deps.db, uploadTokenHash(token));
  if (!session) throw sessionNotFound();
  if (session.expires_at.getTime() <= deps.clock().getTime()) {
    await dropSession(deps, session);
    throw sessionNotFound();
  }
  return session;
}

/** OneDrive's uploadSession body: when it expires and which bytes it wants next. */
export function sendSessionState(reply: FastifyReply, status: number, session: UploadSessionRow): FastifyReply {
  return sendGraphJson(reply, status, {
    expirationDateTime: graphDateTime(session.expires_at),
    nextExpectedRanges: nextExpectedRanges(session.next_offset, session.total_size),
  });
}
