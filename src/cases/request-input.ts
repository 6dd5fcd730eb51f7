import { GraphError } from '../graph-error.ts';
import { defaultDueDate, type DuePeriod } from './due-dates.ts';
import { DATA_SUBJECT_TYPES, REQUEST_TYPES, type SupportedRequestType } from './subject-rights-request.ts';

/** The instance annotation that carries the note of a due-date extension (GDPR Art. 12(3)) in a PATCH. */
export const EXTENSION_NOTE_ANNOTATION = '@dsr.note';

const CREATABLE = [
  '@odata.type',
  'displayName',
  'description',
  'type',
  'dataSubjectType',
  'dataSubject',
  'regulations',
  'internalDueDateTime',
  'externalId',
  'includeAllVersions',
  'includeAuthoredContent',
  'pauseAfterEstimate',
  'contentQuery',
] as const;
const UPDATABLE = ['@odata.type', 'displayName', 'description', 'internalDueDateTime', 'status', EXTENSION_NOTE_ANNOTATION] as const;
const MAX_TEXT = 4000;
const MAX_NAME = 256;
const MAX_DATA_SUBJECT_JSON = 8 * 1024;

export interface NewRequestInput {
  displayName: string;
  description: string | null;
  type: SupportedRequestType;
  dataSubjectType: string;
  dataSubject: Record<string, unknown>;
  email: string;
  regulations: string[];
  internalDueAt: Date;
  externalId: string | null;
  includeAllVersions: boolean | null;
  includeAuthoredContent: boolean | null;
  pauseAfterEstimate: boolean | null;
  contentQuery: string | null;
}

export interface RequestChanges {
  displayName?: string;
  description?: string | null;
  internalDueAt?: Date;
  close?: boolean;
  note?: string;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw GraphError.badRequest('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

function onlyKnown(body: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(body).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    throw GraphError.badRequest(`Property '${unknown}' cannot be set on this request; settable: ${known.filter((k) => !k.startsWith('@')).join(', ')}.`);
  }
}

function text(body: Record<string, unknown>, name: string, max: number, required: boolean): string | null | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw GraphError.badRequest(`${name} is required.`);
    return v;
  }
  if (typeof v !== 'string') throw GraphError.badRequest(`${name} must be a string.`);
  if (required && v.trim() === '') throw GraphError.badRequest(`${name} must not be empty.`);
  if (v.length > max) throw GraphError.badRequest(`${name} is longer than ${max} characters.`);
  return v;
}

function bool(body: Record<string, unknown>, name: string): boolean | null {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') throw GraphError.badRequest(`${name} must be true or false.`);
  return v;
}

/** A DateTimeOffset with an explicit offset (a bare local time would be read in the server's zone). */
export function parseDateTimeOffset(name: string, v: unknown): Date {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) {
    throw GraphError.badRequest(`${name} must be an ISO 8601 date and time with an offset, e.g. 2026-12-31T00:00:00Z.`);
  }
  const d = new Date(v.replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 2000 || d.getUTCFullYear() > 9999) {
    throw GraphError.badRequest(`${name} is not a valid date.`);
  }
  return d;
}

/** A plausible address: one @, no spaces; the directory lookup decides whether it names anyone. */
const EMAIL = /^[^\s@]{1,200}@[^\s@]{1,200}$/;

export function parseCreateBody(raw: unknown, now: Date, duePeriods: ReadonlyMap<string, DuePeriod>): NewRequestInput {
  const body = objectBody(raw);
  onlyKnown(body, CREATABLE);
  const type = body.type;
  if (typeof type !== 'string' || !(REQUEST_TYPES as readonly string[]).includes(type)) {
    throw GraphError.badRequest(`type must be one of ${REQUEST_TYPES.join(', ')}.`);
  }
  if (type === 'delete' || type === 'tagForAction') {
    throw GraphError.badRequest(`Requests of type '${type}' are refused: erasure is not supported yet. Use 'access' or 'export'.`);
  }
  const displayName = text(body, 'displayName', MAX_NAME, true)!;
  const dataSubjectType = body.dataSubjectType;
  if (typeof dataSubjectType !== 'string' || !(DATA_SUBJECT_TYPES as readonly string[]).includes(dataSubjectType)) {
    throw GraphError.badRequest(`dataSubjectType must be one of ${DATA_SUBJECT_TYPES.join(', ')}.`);
  }
  const dataSubject = body.dataSubject;
  if (typeof dataSubject !== 'object' || dataSubject === null || Array.isArray(dataSubject)) {
    throw GraphError.badRequest('dataSubject is required: an object with at least the email of the data subject.');
  }
  if (JSON.stringify(dataSubject).length > MAX_DATA_SUBJECT_JSON) throw GraphError.badRequest(`dataSubject is larger than ${MAX_DATA_SUBJECT_JSON} bytes.`);
  const email = (dataSubject as Record<string, unknown>).email;
  if (typeof email !== 'string' || !EMAIL.test(email.trim())) {
    throw GraphError.badRequest('dataSubject.email is required: the mail address or user principal name of the data subject.');
  }
  const regulations = body.regulations ?? [];
  if (!Array.isArray(regulations) || regulations.length > 20 || !regulations.every((r) => typeof r === 'string' && r.trim() !== '' && r.length <= 64)) {
    throw GraphError.badRequest('regulations must be an array of at most 20 non-empty strings (e.g. ["GDPR"]).');
  }
  let internalDueAt: Date | undefined;
  if (body.internalDueDateTime !== undefined && body.internalDueDateTime !== null) {
    internalDueAt = parseDateTimeOffset('internalDueDateTime', body.internalDueDateTime);
  } else {
    internalDueAt = defaultDueDate(now, regulations as string[], duePeriods);
    if (!internalDueAt) {
      throw GraphError.badRequest(
        `internalDueDateTime is required when no regulation has a default period (known: ${[...duePeriods.keys()].join(', ') || 'none'}).`,
      );
    }
  }
  return {
    displayName,
    description: text(body, 'description', MAX_TEXT, false) ?? null,
    type: type as SupportedRequestType,
    dataSubjectType,
    dataSubject: dataSubject as Record<string, unknown>,
    email: email.trim(),
    regulations: regulations as string[],
    internalDueAt,
    externalId: text(body, 'externalId', MAX_NAME, false) ?? null,
    includeAllVersions: bool(body, 'includeAllVersions'),
    includeAuthoredContent: bool(body, 'includeAuthoredContent'),
    pauseAfterEstimate: bool(body, 'pauseAfterEstimate'),
    contentQuery: text(body, 'contentQuery', MAX_TEXT, false) ?? null,
  };
}

/**
 * A PATCH: displayName, description, internalDueDateTime, and status `closed` (a closed case is
 * never reopened). Moving the due date later is an extension and needs its reason in `@dsr.note`.
 */
export function parsePatchBody(raw: unknown, current: { internal_due_at: Date; status: string }): RequestChanges {
  const body = objectBody(raw);
  onlyKnown(body, UPDATABLE);
  const changes: RequestChanges = {};
  if (body.displayName !== undefined) changes.displayName = text(body, 'displayName', MAX_NAME, true)!;
  if (body.description !== undefined) changes.description = text(body, 'description', MAX_TEXT, false) ?? null;
  if (body.internalDueDateTime !== undefined) changes.internalDueAt = parseDateTimeOffset('internalDueDateTime', body.internalDueDateTime);
  if (body.status !== undefined) {
    if (body.status !== 'closed' && body.status !== 'active') throw GraphError.badRequest("status must be 'closed' (or 'active', unchanged).");
    if (body.status === 'active' && current.status === 'closed') throw GraphError.badRequest('A closed request cannot be reopened; create a new one.');
    if (body.status === 'closed' && current.status !== 'closed') changes.close = true;
  }
  const note = text(body, EXTENSION_NOTE_ANNOTATION, MAX_TEXT, false);
  if (note !== undefined && note !== null) {
    if (note.trim() === '') throw GraphError.badRequest(`${EXTENSION_NOTE_ANNOTATION} must not be empty.`);
    changes.note = note;
  }
  if (changes.internalDueAt && changes.internalDueAt > current.internal_due_at && !changes.note) {
    throw GraphError.badRequest(`Extending internalDueDateTime needs the reason in "${EXTENSION_NOTE_ANNOTATION}" (GDPR Art. 12(3)); it is kept as a note.`);
  }
  if (current.status === 'closed' && (changes.displayName !== undefined || changes.description !== undefined || changes.internalDueAt)) {
    throw GraphError.badRequest('The request is closed; it can no longer be changed.');
  }
  return changes;
}

/** The body of POST .../notes: an authoredNote with content (itemBody). */
export function parseNoteBody(raw: unknown): { content: string; contentType: 'text' | 'html' } {
  const body = objectBody(raw);
  onlyKnown(body, ['@odata.type', 'content']);
  const content = body.content;
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw GraphError.badRequest('content is required: an itemBody such as {"content": "…", "contentType": "text"}.');
  }
  const c = content as Record<string, unknown>;
  const contentType = c.contentType ?? 'text';
  if (contentType !== 'text' && contentType !== 'html') throw GraphError.badRequest("content.contentType must be 'text' or 'html'.");
  const value = text(c, 'content', MAX_TEXT, true)!;
  return { content: value, contentType };
}
