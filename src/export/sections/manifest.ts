import { CONTENT_TYPES, PACKAGE_PATHS, PACKAGE_SCHEMA_VERSION } from '../../domain/package-plan.ts';
import { graphDateTime } from '../../domain/formats.ts';
import { MANIFEST_SIGNATURE_CONTENT_TYPE, MANIFEST_SIGNATURE_PATH } from '../package-signature.ts';
import type { PlanEntry, RenderContext, Section } from './section.ts';

async function* manifestPieces(ctx: RenderContext, totals: Record<string, number>): AsyncGenerator<string> {
  const op = ctx.operation;
  const head = {
    schemaVersion: PACKAGE_SCHEMA_VERSION,
    operation: {
      id: op.id,
      tenantId: op.tenantId,
      userId: op.userId,
      userPrincipalName: op.userPrincipalName,
      submittedDateTime: graphDateTime(op.submittedAt),
    },
    generatedDateTime: graphDateTime(ctx.now),
    totals,
  };
  const open = JSON.stringify(head, null, 2);
  yield `${open.slice(0, open.lastIndexOf('}')).trimEnd()},\n  "files": [`;
  let first = true;
  for await (const f of ctx.planned()) {
    const entry: Pick<PlanEntry, 'path' | 'size' | 'sha256' | 'contentType'> = { path: f.path, size: f.size, sha256: f.sha256, contentType: f.contentType };
    yield `${first ? '\n' : ',\n'}    ${JSON.stringify(entry)}`;
    first = false;
  }
  yield `${first ? '' : '\n  '}]\n}\n`;
}

/**
 * manifest.json and manifest.json.jws, last: every other file of the package with its size, SHA-256 and content type,
 * read back from the plan page by page, and the record counts of every section. Its presence
 * means the package is complete.
 */
export const manifestSection: Section = {
  name: 'Manifest',
  tables: [],
  async render(ctx) {
    const totals: Record<string, number> = { files: ctx.plannedTotals.files, bytes: ctx.plannedTotals.bytes };
    for (const r of ctx.earlier) Object.assign(totals, r.totals);
    const file = await ctx.writeFile(PACKAGE_PATHS.manifest, CONTENT_TYPES.json, manifestPieces(ctx, totals));
    // Signed as written: a detached JWS over exactly these bytes, read back as they stream,
    // uploaded before the manifest (which stays the last file written).
    const jws = await ctx.signer.sign(ctx.readBack(file));
    const signature = await ctx.writeFile(MANIFEST_SIGNATURE_PATH, MANIFEST_SIGNATURE_CONTENT_TYPE, [jws]);
    return {
      files: [
        { path: file.path, title: 'Every file with its size and SHA-256', records: null, size: file.size },
        { path: signature.path, title: "manifest.json's signature (detached JWS)", records: null, size: signature.size },
      ],
    };
  },
};
