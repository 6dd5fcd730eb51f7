import { parsePrivacyStatement, PRIVACY_STATEMENT_TITLE, privacyStatementLines, redactionLine } from '../../../cases/privacy-statement.ts';
import { graphBase } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { requireCaseRead, type CaseRoute } from './request-shared.ts';

/**
 * POST /{version}/security/privacyStatement/preview (extension): a draft statement, validated as
 * the PUT validates it, rendered into the heading and lines a package's index.html will show the
 * data subject. Nothing is stored, so reading cases is enough; the lines are plain text, and the
 * console inserts them as text.
 */
export const previewPrivacyStatement: CaseRoute = (app, deps) => {
  app.post('/security/privacyStatement/preview', async (request, reply) => {
    requireCaseRead(request.caller);
    const statement = parsePrivacyStatement(request.body);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#dsr.privacyStatementPreview`,
      title: PRIVACY_STATEMENT_TITLE,
      lines: [...privacyStatementLines(statement), redactionLine(statement.redactOtherActors !== false)],
    });
  });
};
