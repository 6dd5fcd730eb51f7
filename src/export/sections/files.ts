import { driveFilesOfOwner } from '../../db/queries/worker-sources.ts';
import { packageContentType } from '../../domain/package-plan.ts';
import { placeDrive } from './drive-placements.ts';
import type { Section } from './section.ts';

/** index.html links this many drive files; DriveItems.json has them all. */
export const INDEX_FILE_LINKS = 1000;

/**
 * OneDrive/Files/…: the drive's files, byte for byte. Nothing is rendered: each file joins the
 * plan by hash and is streamed from the content store when uploaded, as an attachment.
 */
export const filesSection: Section = {
  name: 'Files',
  tables: ['drive_items'],
  async render(ctx) {
    await placeDrive(ctx);
    let count = 0;
    let bytes = 0;
    const first: { path: string; size: number }[] = [];
    const files = driveFilesOfOwner(ctx.q, ctx.operation.tenantId, ctx.operation.userId);
    for await (const f of files) {
      const path = f.package_path;
      const size = f.content_size ?? f.size;
      await ctx.addContent({ path, contentType: packageContentType(f.mime_type), size, sha256: f.content_sha256! });
      if (first.length < INDEX_FILE_LINKS) first.push({ path, size });
      count++;
      bytes += size;
    }
    first.sort((a, b) => (a.path < b.path ? -1 : 1));
    return { files: [], totals: { driveFiles: count, driveBytes: bytes }, driveFiles: { count, bytes, first } };
  },
};
