import type { Caller } from '../auth/verify-token.ts';
import type { Requester } from '../domain/operation.ts';

export function requesterOf(caller: Caller): Requester {
  return { kind: caller.kind, appId: caller.appId, oid: caller.oid, upn: caller.upn };
}
