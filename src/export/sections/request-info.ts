import { CONTENT_TYPES, PACKAGE_PATHS, PACKAGE_SCHEMA_VERSION } from '../../domain/package-plan.ts';
import { graphDateTime } from '../../domain/formats.ts';
import type { Section } from './section.ts';

/** RequestInfo.json: the request this package answers. Written first; it claims the container. */
export const requestInfoSection: Section = {
  name: 'RequestInfo',
  tables: [],
  async render(ctx) {
    const op = ctx.operation;
    const file = await ctx.writeFile(PACKAGE_PATHS.requestInfo, CONTENT_TYPES.json, [
      `${JSON.stringify(
        {
          schemaVersion: PACKAGE_SCHEMA_VERSION,
          operationId: op.id,
          tenantId: op.tenantId,
          userId: op.userId,
          userPrincipalName: op.userPrincipalName,
          requestedBy: {
            kind: op.requestedBy.kind,
            appId: op.requestedBy.appId,
            id: op.requestedBy.oid,
            userPrincipalName: op.requestedBy.upn ?? null,
          },
          submittedDateTime: graphDateTime(op.submittedAt),
          snapshotDateTime: graphDateTime(ctx.now),
          storageLocation: op.storageContainer,
          generator: 'dsr-export',
        },
        null,
        2,
      )}\n`,
    ]);
    return { files: [{ path: file.path, title: 'The request this package answers', records: 1, size: file.size }] };
  },
};
