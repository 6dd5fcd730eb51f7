import { GraphError } from '../graph-error.ts';
import { bidiControlIn, controlCharacterIn } from './unsafe-text.ts';
import { graphDateTime } from './formats.ts';

/** A directory user as stored. */
export interface UserRow {
  tenant_id: string;
  id: string;
  user_principal_name: string;
  display_name: string | null;
  given_name: string | null;
  surname: string | null;
  mail: string | null;
  job_title: string | null;
  department: string | null;
  office_location: string | null;
  mobile_phone: string | null;
  business_phones: string[];
  preferred_language: string | null;
  account_enabled: boolean;
  created_at: Date;
  /** Set while the user is in deletedItems (soft-deleted, purged 30 days later). */
  deleted_at?: Date | null;
}

/** Entra ID keeps a deleted user restorable for 30 days, then purges it. */
export const DELETED_USER_RETENTION_DAYS = 30;

/** The oldest deletion time still in deletedItems at `now`. */
export function deletedItemsSince(now: Date): Date {
  return new Date(now.getTime() - DELETED_USER_RETENTION_DAYS * 86_400_000);
}

/** Graph property name → column, for the writable properties. */
export const WRITABLE_USER_PROPERTIES = {
  userPrincipalName: 'user_principal_name',
  displayName: 'display_name',
  givenName: 'given_name',
  surname: 'surname',
  mail: 'mail',
  jobTitle: 'job_title',
  department: 'department',
  officeLocation: 'office_location',
  mobilePhone: 'mobile_phone',
  businessPhones: 'business_phones',
  preferredLanguage: 'preferred_language',
  accountEnabled: 'account_enabled',
} as const;
export type WritableUserProperty = keyof typeof WRITABLE_USER_PROPERTIES;
export type UserChanges = Partial<Record<(typeof WRITABLE_USER_PROPERTIES)[WritableUserProperty], string | boolean | string[] | null>>;

/** The Graph names of the properties a change touches (for audit records: never column names). */
export function changedProperties(changes: UserChanges): string[] {
  return Object.entries(WRITABLE_USER_PROPERTIES)
    .filter(([, column]) => column in changes)
    .map(([name]) => name);
}

export const USER_PROPERTIES = ['id', 'createdDateTime', ...Object.keys(WRITABLE_USER_PROPERTIES)] as readonly string[];

// Graph accepts these on create (they configure sign-in, which this service does not do) and
// stores nothing of them: a password must never reach a DSR package.
const ACCEPTED_AND_DISCARDED = ['passwordProfile', 'mailNickname', 'usageLocation', 'passwordPolicies', '@odata.type'];
const UPN = /^[A-Za-z0-9'._+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;

export function toGraphUser(row: UserRow): Record<string, unknown> {
  return {
    id: row.id,
    userPrincipalName: row.user_principal_name,
    displayName: row.display_name,
    givenName: row.given_name,
    surname: row.surname,
    mail: row.mail,
    jobTitle: row.job_title,
    department: row.department,
    officeLocation: row.office_location,
    mobilePhone: row.mobile_phone,
    businessPhones: row.business_phones,
    preferredLanguage: row.preferred_language,
    accountEnabled: row.account_enabled,
    createdDateTime: graphDateTime(row.created_at),
    // Only a deleted user carries it (deletedItems, and the export of a soft-deleted account).
    ...(row.deleted_at ? { deletedDateTime: graphDateTime(row.deleted_at) } : {}),
  };
}

/**
 * Validates a POST/PATCH body into column changes. Unknown properties are refused, as Graph
 * refuses them, so a typo never silently drops a field.
 */
export function parseUserChanges(body: unknown, mode: 'create' | 'update'): UserChanges {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw GraphError.directoryBadRequest('The request body must be a JSON object.');
  const changes: UserChanges = {};
  for (const [key, value] of Object.entries(body)) {
    if (ACCEPTED_AND_DISCARDED.includes(key) && mode === 'create') continue;
    if (key === 'id' || key === 'createdDateTime') throw GraphError.directoryBadRequest(`Property '${key}' is read-only.`);
    // Own keys only: `in` would also find toString, constructor, … of Object.prototype.
    if (!Object.hasOwn(WRITABLE_USER_PROPERTIES, key)) throw GraphError.directoryBadRequest(`Property '${key}' does not exist on type 'microsoft.graph.user'.`);
    const column = WRITABLE_USER_PROPERTIES[key as WritableUserProperty];
    if (key === 'accountEnabled') {
      if (typeof value !== 'boolean') throw GraphError.directoryBadRequest("Property 'accountEnabled' must be a boolean.");
    } else if (key === 'businessPhones') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
        throw GraphError.directoryBadRequest("Property 'businessPhones' must be an array of strings.");
    } else if (value !== null && typeof value !== 'string') {
      throw GraphError.directoryBadRequest(`Property '${key}' must be a string.`);
    } else if (typeof value === 'string' && value.length > 256) {
      throw GraphError.directoryBadRequest(`Property '${key}' is longer than 256 characters.`);
    }
    for (const text of typeof value === 'string' ? [value] : Array.isArray(value) ? (value as string[]) : []) {
      const bad = bidiControlIn(text) ?? controlCharacterIn(text);
      if (bad)
        throw GraphError.directoryBadRequest(`Property '${key}' contains the character ${bad}; control and bidirectional override characters are not allowed.`);
    }
    if (key === 'userPrincipalName' && (typeof value !== 'string' || !UPN.test(value))) {
      throw GraphError.directoryBadRequest("Property 'userPrincipalName' must be of the form alias@domain.");
    }
    if (key === 'displayName' && (typeof value !== 'string' || value.trim() === '')) {
      throw GraphError.directoryBadRequest("Property 'displayName' must be a non-empty string.");
    }
    changes[column] = value as string | boolean | string[] | null;
  }
  if (mode === 'create') {
    for (const required of ['userPrincipalName', 'displayName'] as const) {
      if (!(WRITABLE_USER_PROPERTIES[required] in changes)) throw GraphError.directoryBadRequest(`Property '${required}' is required to create a user.`);
    }
  }
  if (mode === 'update' && Object.keys(changes).length === 0) throw GraphError.directoryBadRequest('The request body names no property to update.');
  return changes;
}
