import { driveNodesOfOwner } from '../../db/queries/worker-sources.ts';
import { placeDriveItems, type DrivePlacement } from '../../domain/package-plan.ts';
import type { RenderContext } from './section.ts';

export interface DriveLayout {
  readonly placements: ReadonlyMap<string, DrivePlacement>;
  readonly childCounts: ReadonlyMap<string, number>;
}

// Keyed by the render (one per snapshot); a pooled connection outlives it.
const layouts = new WeakMap<RenderContext, Promise<DriveLayout>>();

/**
 * Where every item of the subject's drive goes in the package, computed once per snapshot and
 * shared by DriveItems and Files. Names collide within a folder and paths build on parents, so
 * this holds the tree's ids and names (not the items' metadata, which is streamed).
 */
export function driveLayout(ctx: RenderContext): Promise<DriveLayout> {
  let layout = layouts.get(ctx);
  if (!layout) {
    layout = (async () => {
      const nodes = [];
      const childCounts = new Map<string, number>();
      for await (const n of driveNodesOfOwner(ctx.q, ctx.operation.tenantId, ctx.operation.userId)) {
        nodes.push({ id: n.id, parentId: n.parent_id, name: n.name, isFolder: n.is_folder });
        if (n.parent_id) childCounts.set(n.parent_id, (childCounts.get(n.parent_id) ?? 0) + 1);
      }
      return { placements: placeDriveItems(nodes, ctx.maxPathLength), childCounts };
    })();
    layouts.set(ctx, layout);
  }
  return layout;
}
