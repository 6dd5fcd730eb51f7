import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import type { Caller } from '../../../auth/verify-token.ts';
import type { CaseContext } from '../../../cases/case-service.ts';
import type { AppDeps } from '../../app-deps.ts';
import { graphBase } from '../../app-deps.ts';
import { decodeSkipToken, GUID_PATTERN } from '../../odata.ts';

/** A route operation on subject rights requests. */
export type CaseRoute = (app: FastifyInstance, deps: AppDeps, ctx: CaseContext) => void;

export const COLLECTION = '/security/subjectRightsRequests';

/**
 * Graph grants these as delegated scopes only; applications may hold them as roles here too
 * (docs/graph-compatibility.md): a self-hosted privacy team automates its cases.
 */
export function requireCaseRead(caller: Caller): void {
  requirePermissions(caller, ['SubjectRightsRequest.Read.All']);
}

export function requireCaseWrite(caller: Caller): void {
  requirePermissions(caller, ['SubjectRightsRequest.ReadWrite.All']);
}

export function collectionContext(deps: AppDeps, version: string, select?: readonly string[]): string {
  return `${graphBase(deps, version)}/$metadata#security/subjectRightsRequests${select ? `(${select.join(',')})` : ''}`;
}

/** A keyset cursor of (instant to the microsecond, id); a forged one is a 400, not a cast error. */
export function decodeTimeIdCursor(raw: string | undefined): [string, string] | undefined {
  return decodeSkipToken(
    raw,
    2,
    ([at, id]) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(at!) && !Number.isNaN(Date.parse(at!)) && GUID_PATTERN.test(id!),
  ) as [string, string] | undefined;
}
