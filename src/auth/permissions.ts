import { GraphError } from '../graph-error.ts';
import type { Caller } from './verify-token.ts';

// Broader permissions that include a narrower one, as Microsoft Graph grants them.
const IMPLIED_BY: Record<string, string[]> = {
  'User.Read.All': ['User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'User.ReadWrite.All': ['Directory.ReadWrite.All'],
  'AuditLog.Read.All': [],
  'Files.ReadWrite.All': [],
  'Files.Read.All': ['Files.ReadWrite.All'],
  // Delegated own-user and own-drive scopes; the .All scopes include them.
  'User.ReadWrite': ['User.ReadWrite.All', 'Directory.ReadWrite.All'],
  'User.Read': ['User.ReadWrite', 'User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'Files.ReadWrite': ['Files.ReadWrite.All'],
  'Files.Read': ['Files.ReadWrite', 'Files.Read.All', 'Files.ReadWrite.All'],
  'User.Export.All': [],
  'SubjectRightsRequest.Read.All': ['SubjectRightsRequest.ReadWrite.All'],
};

/** True when the caller holds the permission (as an app role or a delegated scope) or one that implies it. */
export function hasPermission(caller: Caller, permission: string): boolean {
  const granted = caller.kind === 'application' ? caller.roles : caller.scopes;
  return granted.has(permission) || (IMPLIED_BY[permission] ?? []).some((p) => granted.has(p));
}

/**
 * Whether the caller may act on the whole tenant. An application may (its roles were consented by
 * an administrator). A delegated token may only when the signed-in user also holds a directory
 * role counted as administrator (`wids` ∩ DSR_ADMIN_ROLE_IDS): a `.All` scope alone says what the
 * client app may ask for, not what the user may do, so without the role it reaches only the
 * user's own profile and drive.
 */
export function actsTenantWide(caller: Caller): boolean {
  return caller.kind === 'application' || caller.directoryAdmin;
}

function denied(permissions: string[]): GraphError {
  return GraphError.forbidden(`Insufficient privileges to complete the operation. Requires ${permissions.join(' and ')}.`);
}

function notAdministrator(): GraphError {
  return GraphError.forbidden(
    'Insufficient privileges to complete the operation. The signed-in user must be a company administrator to act beyond their own user and drive.',
  );
}

/**
 * A tenant-wide operation (listing or creating users, deleting a user, audit logs, exports and
 * their operations): every permission, and, for a delegated caller, an administrator role.
 */
export function requirePermissions(caller: Caller, permissions: string[]): void {
  const missing = permissions.filter((p) => !hasPermission(caller, p));
  if (missing.length > 0) throw denied(missing);
  if (!actsTenantWide(caller)) throw notAdministrator();
}

/** The permissions of one kind of access to one user's resources: tenant-wide, or own only. */
export interface ScopedPermission {
  /** Any user's: an application role, or a delegated scope held with an administrator role. */
  readonly all: string;
  /** The caller's own (delegated only); implied by `all`. */
  readonly own: string;
}

export const USER_READ: ScopedPermission = { all: 'User.Read.All', own: 'User.Read' };
export const USER_WRITE: ScopedPermission = { all: 'User.ReadWrite.All', own: 'User.ReadWrite' };
export const DRIVE_READ: ScopedPermission = { all: 'Files.Read.All', own: 'Files.Read' };
export const DRIVE_WRITE: ScopedPermission = { all: 'Files.ReadWrite.All', own: 'Files.ReadWrite' };

/**
 * Access to the resources of one user (profile or drive). Call it twice: first with `target`
 * undefined, before looking the user up (a caller without any of the permissions gets 403, not a
 * hint whether the user exists); then with the user's id, or with the key as given when no such
 * user exists, so that a caller limited to itself gets the same 403 for a colleague and for
 * nobody, and a 404 only for its own missing user.
 */
export function requireUserScopedAccess(caller: Caller, permission: ScopedPermission, target: string | undefined): void {
  if (hasPermission(caller, permission.all) && actsTenantWide(caller)) return;
  if (caller.kind === 'delegated' && hasPermission(caller, permission.own)) {
    if (target === undefined || target.toLowerCase() === caller.oid.toLowerCase()) return;
    throw notAdministrator();
  }
  throw denied(caller.kind === 'application' ? [permission.all] : [`${permission.own} (own) or ${permission.all}`]);
}
