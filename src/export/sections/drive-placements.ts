import { clearDrivePlacements, driveChildrenAtDepth, insertDrivePlacements, placeDriveRoots } from '../../db/queries/worker-sources.ts';
import { FolderNamer, PACKAGE_PATHS } from '../../domain/package-plan.ts';
import type { RenderContext } from './section.ts';

// Keyed by the render (one per snapshot); a pooled connection outlives it.
const placed = new WeakMap<RenderContext, Promise<void>>();
const INSERT_BATCH = 1000;

/**
 * Places every item of the subject's drive in the package, once per snapshot, into the
 * snapshot's placement table (DriveItems and Files join it). Paths build on parents, so the
 * drive is placed level by level: each level's items arrive grouped by parent, in naming order,
 * and only the folder being named is in memory (its names, to number collisions).
 */
export function placeDrive(ctx: RenderContext): Promise<void> {
  let done = placed.get(ctx);
  if (!done) {
    done = (async () => {
      const {
        q,
        operation: { tenantId, userId },
      } = ctx;
      await clearDrivePlacements(q);
      await placeDriveRoots(q, tenantId, userId, PACKAGE_PATHS.filesRoot);
      for (let depth = 1; ; depth++) {
        let batch: { id: string; isFolder: boolean; drivePath: string; packagePath: string }[] = [];
        let folders = 0;
        let parent: string | undefined;
        let namer: FolderNamer | undefined;
        for await (const item of driveChildrenAtDepth(q, tenantId, userId, depth)) {
          // Level 1 is one folder: the top one, shared by the roots' children and the orphans.
          const group = depth === 1 ? '' : item.parent_id;
          if (!namer || group !== parent) {
            parent = group;
            namer = new FolderNamer(item.parent_drive_path ?? '', item.parent_package_path ?? PACKAGE_PATHS.filesRoot, ctx.maxPathLength);
          }
          const p = namer.place(item);
          batch.push({ id: item.id, isFolder: item.is_folder, ...p });
          if (item.is_folder) folders++;
          if (batch.length >= INSERT_BATCH) {
            await insertDrivePlacements(q, depth, batch);
            batch = [];
          }
        }
        if (batch.length > 0) await insertDrivePlacements(q, depth, batch);
        if (folders === 0) return;
      }
    })();
    placed.set(ctx, done);
  }
  return done;
}
