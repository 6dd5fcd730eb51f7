import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { ContentLengthError } from '../../../content/content-store.ts';
import { inTransaction } from '../../../db/pool.ts';
import { advanceUploadSession, deleteUploadSession, findUploadSession, type UploadSessionRow } from '../../../db/queries/upload-sessions.ts';
import { findUser } from '../../../db/queries/users.ts';
import { nextExpectedRanges, parseContentRange, UPLOAD_FRAGMENT_MAX_BYTES, UPLOAD_SESSION_LIFETIME_SECONDS } from '../../../domain/drive-item.ts';
import { GraphError } from '../../../graph-error.ts';
import type { QuotaCounter } from '../../../quota/quota-counter.ts';
import { checkUploadSessionSize, takeRequestQuota } from '../../../quota/upload-quotas.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { userNotFound } from '../users/get-user.ts';
import { commitFileToDrive, recordStoredContent } from '../../../drive/commit-file.ts';
import { activityContext, sendDriveItem } from './drive-shared.ts';
import { itemLinks } from './item-rendering.ts';
import { dropSession, loadLiveSession, sendSessionState, sessionNotFound, UPLOAD_SESSION_PATH } from './upload-session-shared.ts';

function unexpectedRange(session: UploadSessionRow, first: number): GraphError {
  const expected = nextExpectedRanges(session.next_offset, session.total_size)[0] ?? 'none';
  const why = first < session.next_offset ? 'overlaps bytes already received' : 'leaves a gap';
  return GraphError.invalidRange(`The fragment starting at byte ${first} ${why}; fragments must be sent in order. nextExpectedRanges: ${expected}.`);
}

/**
 * The last fragment arrived (or, with deferCommit, the commit request): the staged file becomes
 * content, the item is written, and the driveItem answered under the session's Graph version.
 */
export async function finishUploadSession(deps: AppDeps, request: FastifyRequest, reply: FastifyReply, session: UploadSessionRow) {
  const { owner, item, created } = await finish(deps, request, session);
  const context = `${graphBase(deps, session.graph_version)}/$metadata#users('${owner.id}')/drive/items/$entity`;
  const links = await itemLinks(deps, session.graph_version, session.created_by, session.app_id);
  return sendDriveItem(reply, created ? 201 : 200, context, links, item);
}

async function finish(deps: AppDeps, request: FastifyRequest, session: UploadSessionRow) {
  try {
    const owner = await findUser(deps.db, session.tenant_id, session.owner_user_id);
    if (!owner) throw userNotFound(session.owner_user_id);
    const content = await deps.contentStore.commitStaged(session.id, session.staged_parts, session.total_size ?? session.next_offset);
    await recordStoredContent(deps, content);
    const ctx = activityContext(request, owner, session.created_by, session.app_id, deps.clock());
    const result = await inTransaction(deps.db, async (tx) => {
      const r = await commitFileToDrive(tx, {
        owner,
        segments: session.item_path,
        content,
        conflictBehavior: session.conflict_behavior,
        ctx,
      });
      await deleteUploadSession(tx, session.id);
      return r;
    });
    return { owner, ...result };
  } catch (err) {
    // A session that cannot complete is of no further use (its bytes are consumed or unusable).
    await dropSession(deps, session);
    throw err;
  }
}

/**
 * PUT {uploadUrl} with `Content-Range: bytes {first}-{last}/{total}`: one fragment, in order,
 * streamed to the session's staging. 202 with nextExpectedRanges until the last fragment, then
 * 201 (new file) or 200 (replaced) with the driveItem. No Authorization: the URL is the credential.
 */
export function uploadSessionFragmentRoute(app: FastifyInstance, deps: AppDeps, quotas: QuotaCounter): void {
  app.put<{ Params: { token: string } }>(UPLOAD_SESSION_PATH, { bodyLimit: UPLOAD_FRAGMENT_MAX_BYTES }, async (request, reply) => {
    const session = await loadLiveSession(deps, request.params.token);
    // Fragments carry no token, but they are the tenant's requests all the same.
    await takeRequestQuota(quotas, deps.config, session.tenant_id, deps.clock(), 'drive');
    const range = parseContentRange(request.headers['content-range']);
    const length = range.last - range.first + 1;
    const declared = request.headers['content-length'];
    if (declared === undefined || !/^\d+$/.test(declared)) {
      throw GraphError.invalidRequest('An upload fragment needs a Content-Length header.');
    }
    if (Number(declared) !== length) {
      throw GraphError.invalidRequest(`Content-Length ${declared} does not match Content-Range ${request.headers['content-range']} (${length} bytes).`);
    }
    if (length > UPLOAD_FRAGMENT_MAX_BYTES) {
      reply.header('connection', 'close');
      throw GraphError.tooLarge(`A fragment is limited to ${UPLOAD_FRAGMENT_MAX_BYTES} bytes (60 MiB); send smaller fragments.`);
    }
    if (session.total_size !== null && range.total !== session.total_size) {
      throw GraphError.invalidRequest(`The Content-Range total ${range.total} does not match the file size ${session.total_size} of this session.`);
    }
    if (range.first !== session.next_offset) throw unexpectedRange(session, range.first);
    if (session.total_size === null) await checkUploadSessionSize(deps.db, deps.config, session, range.total, deps.clock());

    const body = (request.body as Readable | undefined) ?? Readable.from([]);
    let parts: string[];
    try {
      parts = await deps.contentStore.stagePart(session.id, range.first, body, length);
    } catch (err) {
      if (err instanceof ContentLengthError) {
        throw GraphError.invalidRequest(`The fragment held ${err.received} bytes, not the ${length} its Content-Range announced; send it again.`);
      }
      throw err;
    }
    const advanced = await advanceUploadSession(deps.db, session.id, {
      offset: range.first,
      nextOffset: range.last + 1,
      total: range.total,
      parts,
      expiresAt: new Date(deps.clock().getTime() + UPLOAD_SESSION_LIFETIME_SECONDS * 1000),
    });
    if (!advanced) {
      // Cancelled meanwhile, or a concurrent request for the same range won.
      const now = await findUploadSession(deps.db, session.token_sha256);
      throw now ? unexpectedRange(now, range.first) : sessionNotFound();
    }
    // With deferCommit the file is created by the explicit commit (POST {uploadUrl}).
    if (advanced.next_offset < range.total || advanced.defer_commit) return sendSessionState(reply, 202, advanced);
    return finishUploadSession(deps, request, reply, advanced);
  });
}
