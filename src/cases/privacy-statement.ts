import { GraphError } from '../graph-error.ts';

/**
 * What GDPR Art. 15(1)(a)–(h) and 15(2) require beside the data itself, per tenant: who the
 * controller is, why and on what basis data is processed, which data, who receives it, how long
 * it is kept, where it came from, automated decisions, transfers abroad, and the subject's rights.
 */
export interface PrivacyStatement {
  controller: { name: string; contact: string };
  dataProtectionOfficer?: { name: string; contact: string };
  purposes: { purpose: string; legalBasis: string }[];
  categories: string[];
  recipients: string[];
  retention: { category: string; period: string }[];
  source: string;
  automatedDecisionMaking: string;
  transfers: { destination: string; safeguards: string }[];
  rights: {
    rectification: string;
    erasure: string;
    restriction: string;
    objection: string;
    complaint: { authority: string; contact: string };
  };
  /**
   * GDPR Art. 15(4): leave out the IP address and user agent of every other person in drive
   * activity and audit records. Default true; false hands them over (e.g. when a works council
   * agreement allows it).
   */
  redactOtherActors?: boolean;
}

/** The heading the statement has in a package's index.html. */
export const PRIVACY_STATEMENT_TITLE = 'Privacy statement (GDPR Art. 15)';

export const NO_STATEMENT_TEXT = 'No privacy statement has been set for this tenant: ask the controller for the information of GDPR Art. 15(1) and 15(2).';

const MAX_TEXT = 2000;
const MAX_ITEMS = 50;

type Shape = 'text' | 'bool' | { [key: string]: Shape | { optional: Shape } } | { list: Shape };

const PAIR = (a: string, b: string): Shape => ({ [a]: 'text', [b]: 'text' });
const SHAPE: Shape = {
  controller: PAIR('name', 'contact'),
  dataProtectionOfficer: { optional: PAIR('name', 'contact') },
  purposes: { list: PAIR('purpose', 'legalBasis') },
  categories: { list: 'text' },
  recipients: { list: 'text' },
  retention: { list: PAIR('category', 'period') },
  source: 'text',
  automatedDecisionMaking: 'text',
  transfers: { list: PAIR('destination', 'safeguards') },
  rights: {
    rectification: 'text',
    erasure: 'text',
    restriction: 'text',
    objection: 'text',
    complaint: PAIR('authority', 'contact'),
  },
  redactOtherActors: { optional: 'bool' },
};

function check(value: unknown, shape: Shape, at: string): void {
  if (shape === 'bool') {
    if (typeof value !== 'boolean') throw GraphError.badRequest(`${at} must be true or false.`);
    return;
  }
  if (shape === 'text') {
    if (typeof value !== 'string' || value.trim() === '') throw GraphError.badRequest(`${at} must be a non-empty string.`);
    if (value.length > MAX_TEXT) throw GraphError.badRequest(`${at} is longer than ${MAX_TEXT} characters.`);
    return;
  }
  if ('list' in shape && Object.keys(shape).length === 1) {
    if (!Array.isArray(value) || value.length > MAX_ITEMS) throw GraphError.badRequest(`${at} must be an array of at most ${MAX_ITEMS} entries.`);
    value.forEach((v, i) => check(v, shape.list, `${at}[${i}]`));
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw GraphError.badRequest(`${at} must be an object.`);
  const obj = value as Record<string, unknown>;
  const fields = shape as Record<string, Shape | { optional: Shape }>;
  const unknown = Object.keys(obj).find((k) => !(k in fields));
  if (unknown !== undefined) throw GraphError.badRequest(`${at ? `${at}.` : ''}${unknown} is not a property of the privacy statement.`);
  for (const [key, sub] of Object.entries(fields)) {
    const path = at ? `${at}.${key}` : key;
    if (typeof sub === 'object' && 'optional' in sub) {
      if (obj[key] !== undefined && obj[key] !== null) check(obj[key], sub.optional, path);
    } else {
      if (obj[key] === undefined) throw GraphError.badRequest(`${path} is required.`);
      check(obj[key], sub, path);
    }
  }
}

export function parsePrivacyStatement(raw: unknown): PrivacyStatement {
  check(raw, SHAPE, '');
  return raw as PrivacyStatement;
}

/** The statement as plain-text lines, for the final report and README-style readers. */
export function privacyStatementLines(s: PrivacyStatement | undefined): string[] {
  if (!s) return [NO_STATEMENT_TEXT];
  const lines = [
    `Controller: ${s.controller.name} (${s.controller.contact})`,
    ...(s.dataProtectionOfficer ? [`Data protection officer: ${s.dataProtectionOfficer.name} (${s.dataProtectionOfficer.contact})`] : []),
    ...s.purposes.map((p) => `Purpose: ${p.purpose}; legal basis: ${p.legalBasis}`),
    `Categories of personal data: ${s.categories.join('; ')}`,
    `Recipients: ${s.recipients.join('; ') || 'none'}`,
    ...s.retention.map((r) => `Retention of ${r.category}: ${r.period}`),
    `Source of the data: ${s.source}`,
    `Automated decision-making, including profiling: ${s.automatedDecisionMaking}`,
    ...(s.transfers.length > 0
      ? s.transfers.map((t) => `Transfer to ${t.destination}; safeguards: ${t.safeguards}`)
      : ['Transfers to third countries or international organisations: none']),
    `Right to rectification: ${s.rights.rectification}`,
    `Right to erasure: ${s.rights.erasure}`,
    `Right to restriction of processing: ${s.rights.restriction}`,
    `Right to object: ${s.rights.objection}`,
    `Right to lodge a complaint with a supervisory authority: ${s.rights.complaint.authority} (${s.rights.complaint.contact})`,
  ];
  return lines;
}

/**
 * The package's sentence on what Art. 15(4) left out; without counts (a preview, before any
 * package) it says what will be counted.
 */
export function redactionLine(applied: boolean, counts?: { activities: number; audits: number }): string {
  if (!applied) return "Other people's IP addresses and user agents are included.";
  const what = counts
    ? `${counts.activities} drive activity and ${counts.audits} audit records`
    : 'the drive activity and audit records (counted in each package)';
  return `Left out as other people's data (Art. 15(4)): ${what} without other people's IP address or user agent.`;
}
