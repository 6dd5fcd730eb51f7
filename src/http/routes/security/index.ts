import type { CaseContext } from '../../../cases/case-service.ts';
import { createCaseStorage } from '../../../cases/case-storage.ts';
import type { RouteRegistration, ResourceRoutes } from '../../resource-routes.ts';
import { completeRequestReview } from './complete-review.ts';
import { createRequestNote } from './create-note.ts';
import { createSubjectRightsRequest } from './create-subject-rights-request.ts';
import { downloadFinalFileRoute } from './download-final-file.ts';
import { getFinalAttachment } from './get-final-attachment.ts';
import { getFinalReport } from './get-final-report.ts';
import { getSubjectRightsRequest } from './get-subject-rights-request.ts';
import { listRequestNotes } from './list-notes.ts';
import { listRequestPackageFiles } from './list-package-files.ts';
import { listSubjectRightsRequests } from './list-subject-rights-requests.ts';
import { previewPrivacyStatement } from './preview-privacy-statement.ts';
import { privacyStatementRoutes } from './privacy-statement.ts';
import type { CaseRoute } from './request-shared.ts';
import { updateRequestPackageFile } from './update-package-file.ts';
import { updateSubjectRightsRequest } from './update-subject-rights-request.ts';

const ROUTES: CaseRoute[] = [
  listSubjectRightsRequests,
  createSubjectRightsRequest,
  getSubjectRightsRequest,
  updateSubjectRightsRequest,
  listRequestNotes,
  createRequestNote,
  getFinalReport,
  getFinalAttachment,
  listRequestPackageFiles,
  updateRequestPackageFile,
  completeRequestReview,
  privacyStatementRoutes,
  previewPrivacyStatement,
];

/** Every /security/subjectRightsRequests route, sharing one case context. */
const subjectRightsRequestRoutes: RouteRegistration = (app, deps, quotas) => {
  const ctx: CaseContext = {
    db: deps.db,
    storage: createCaseStorage(deps.config.cases.storage),
    purgeDays: deps.config.cases.purgeDays,
    quotas,
    quotaLimits: deps.config.quotas,
  };
  for (const route of ROUTES) route(app, deps, ctx);
};

/** /security/subjectRightsRequests (cases), and the download URLs of their final files. */
export const securityRoutes: ResourceRoutes = {
  graph: subjectRightsRequestRoutes,
  // A final file's download URL is its own credential.
  root: downloadFinalFileRoute,
};
