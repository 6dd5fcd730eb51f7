import { driveItemsOfOwner } from '../../db/queries/worker-sources.ts';
import { PACKAGE_PATHS } from '../../domain/package-plan.ts';
import { toPackageDriveItem } from '../render-package.ts';
import { placeDrive } from './drive-placements.ts';
import { odataContext, recordSection } from './records.ts';
import type { RenderContext, Section } from './section.ts';

/** OneDrive/DriveItems.json: every item of the subject's drive, with where it is in this package. */
export const driveItemsSection: Section = {
  name: 'DriveItems',
  tables: ['drive_items'],
  async render(ctx: RenderContext) {
    await placeDrive(ctx);
    let folders = 0;
    const section = recordSection({
      name: 'DriveItems',
      tables: ['drive_items'],
      totalKey: 'driveItems',
      title: 'Drive items, with where each is in this package',
      rows: (c) => driveItemsOfOwner(c.q, c.operation.tenantId, c.operation.userId),
      json: {
        path: PACKAGE_PATHS.driveItems,
        context: odataContext('drives/items'),
        toJson: (i) => {
          if (i.is_folder) folders++;
          return toPackageDriveItem(i, { drivePath: i.drive_path, packagePath: i.package_path }, i.child_count, i.parent_drive_path ?? undefined);
        },
      },
      preview: { columns: ['Name', 'Size', 'Modified'], cells: (i) => [i.packagePath, i.size, i.lastModifiedDateTime] },
    });
    const result = await section.render(ctx);
    return { ...result, totals: { ...result.totals, driveFolders: folders } };
  },
};
