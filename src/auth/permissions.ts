import { GraphError } from '../graph-error.ts';
import type { Caller } from './verify-token.ts';

// Broader permissions that include a narrower one, as Microsoft Graph grants them.
const IMPLIED_BY: Record<string, string[]> = {
  'User.Read.All': ['User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'User.ReadWrite.All': ['Directory.ReadWrite.All'],
  'AuditLog.Read.All': [],
  'Files.ReadWrite.All': [],
  'Files.Read.All': ['Files.ReadWrite.All'],
  // Delegated own-drive scopes; the .All scopes include them (see requireDriveAccess).
  'Files.ReadWrite': ['Files.ReadWrite.All'],
  'Files.Read': ['Files.ReadWrite', 'Files.Read.All', 'Files.ReadWrite.All'],
  'User.Export.All': [],
};

/** True when the caller holds the permission (as an app role or a delegated scope) or one that implies it. */
export function hasPermission(caller: Caller, permission: string): boolean {
  const granted = caller.kind === 'application' ? caller.roles : caller.scopes;
  return granted.has(permission) || (IMPLIED_BY[permission] ?? []).some((p) => granted.has(p));
}

export function isCompanyAdministrator(caller: Caller, adminRoleIds: readonly string[]): boolean {
  const wids = new Set(caller.wids.map((w) => w.toLowerCase()));
  return adminRoleIds.some((id) => wids.has(id.toLowerCase()));
}

function denied(permissions: string[]): GraphError {
  return GraphError.forbidden(`Insufficient privileges to complete the operation. Requires ${permissions.join(' and ')}.`);
}

/**
 * Export POST and operation reads (DESIGN.md §4): applications need the permissions as roles;
 * a delegated caller needs them as scopes and must also be a company administrator.
 */
export function requireExportPermissions(caller: Caller, permissions: string[], adminRoleIds: readonly string[]): void {
  const missing = permissions.filter((p) => !hasPermission(caller, p));
  if (missing.length > 0) throw denied(missing);
  if (caller.kind === 'delegated' && !isCompanyAdministrator(caller, adminRoleIds)) {
    throw GraphError.forbidden('Insufficient privileges to complete the operation. The signed-in user must be a company administrator.');
  }
}

export function requirePermissions(caller: Caller, permissions: string[]): void {
  const missing = permissions.filter((p) => !hasPermission(caller, p));
  if (missing.length > 0) throw denied(missing);
}

/**
 * Drive routes (DESIGN.md §4): applications need Files.ReadWrite.All (Files.Read.All suffices to
 * read); a delegated caller may use its own drive with Files.ReadWrite (Files.Read to read), any
 * drive with the .All scopes. Call once with ownerUserId undefined before resolving the user (a
 * caller without any Files permission gets 403, not a hint whether the user exists), then again
 * with the drive's owner.
 */
export function requireDriveAccess(caller: Caller, ownerUserId: string | undefined, access: 'read' | 'write'): void {
  const all = access === 'read' ? 'Files.Read.All' : 'Files.ReadWrite.All';
  const own = access === 'read' ? 'Files.Read' : 'Files.ReadWrite';
  if (hasPermission(caller, all)) return;
  if (caller.kind === 'delegated' && hasPermission(caller, own)
    && (ownerUserId === undefined || ownerUserId.toLowerCase() === caller.oid.toLowerCase())) return;
  throw denied(caller.kind === 'application' ? [all] : [`${own} (own drive) or ${all}`]);
}
