import { allRoutes, type ResourceRoutes } from '../../resource-routes.ts';
import { createUploadSessionRoute } from './create-upload-session.ts';
import { deleteItemRoute } from './delete-item.ts';
import { downloadContentRoute } from './download-content.ts';
import { downloadUrlRoute } from './download-url.ts';
import { getDriveRoute } from './get-drive.ts';
import { getItemByPathRoute } from './get-item-by-path.ts';
import { getItemRoute } from './get-item.ts';
import { getRootRoute } from './get-root.ts';
import { listItemChildrenRoute } from './list-item-children.ts';
import { listRootChildrenRoute } from './list-root-children.ts';
import { uploadContentRoute } from './upload-content.ts';
import { uploadSessionRoutes } from './upload-session-routes.ts';

/** A user's OneDrive (/users/{id}/drive…), its upload sessions' uploadUrls and its download URLs. */
export const driveRoutes: ResourceRoutes = {
  graph: allRoutes(
    getDriveRoute,
    getRootRoute,
    listRootChildrenRoute,
    getItemRoute,
    listItemChildrenRoute,
    downloadContentRoute,
    getItemByPathRoute,
    uploadContentRoute,
    createUploadSessionRoute,
    deleteItemRoute,
  ),
  // An uploadUrl or a download URL is its own credential.
  root: allRoutes(uploadSessionRoutes, downloadUrlRoute),
};
