import { PACKAGE_PATHS } from '../domain/package-plan.ts';

// What every file of the package holds, field by field, in plain language. Kept as data so that DataDictionary.json and README.txt say the
// same; a file the dictionary does not know is still listed, with a generic description.

export interface FieldEntry {
  readonly name: string;
  readonly description: string;
  /** Coded values and what each means. */
  readonly codes?: Readonly<Record<string, string>>;
}

export interface FileEntry {
  readonly description: string;
  readonly fields: readonly FieldEntry[];
}

export const PRIVACY_STATEMENT_PATH = 'PrivacyStatement.json';
export const DATA_DICTIONARY_PATH = 'DataDictionary.json';
export const README_PATH = 'README.txt';

const ACTIVITY_TYPES: Record<string, string> = {
  FileUploaded: 'a file was uploaded (created or replaced)',
  FileModified: 'a file was changed or renamed',
  FileAccessed: 'a file or folder was opened or listed',
  FileDownloaded: "a file's content was downloaded",
  FileDeleted: 'a file or folder was deleted',
  FolderCreated: 'a folder was created',
};

const RISK_LEVELS: Record<string, string> = {
  none: 'no risk detected',
  low: 'low risk',
  medium: 'medium risk',
  high: 'high risk',
  hidden: 'the risk level is not shown to this tenant',
  unknownFutureValue: 'a value newer than this package format',
};

const ACTIVITY_FIELDS: readonly FieldEntry[] = [
  { name: 'id', description: 'Identifier of the activity record.' },
  { name: 'activityDateTime', description: 'When it happened (UTC, ISO 8601).' },
  { name: 'activityType', description: 'What happened.', codes: ACTIVITY_TYPES },
  { name: 'actor / actorId / actorName', description: 'Who did it: a user (id, display name) or an application.' },
  { name: 'itemId / itemPath', description: 'The file or folder concerned, by identifier and by path at the time.' },
  { name: 'clientIp', description: 'The network address the action came from. Null for other people when redacted (see PrivacyStatement.json).' },
  { name: 'userAgent', description: 'The program (browser, sync client) that did it. Null for other people when redacted.' },
  { name: 'appId', description: 'The application the action went through.' },
];

const SIGN_IN_FIELDS: readonly FieldEntry[] = [
  { name: 'id', description: 'Identifier of the sign-in.' },
  { name: 'createdDateTime', description: 'When the sign-in happened (UTC).' },
  { name: 'userPrincipalName / userId', description: 'The account that signed in.' },
  { name: 'appDisplayName / appId', description: 'The application signed in to.' },
  { name: 'ipAddress', description: 'The network address the sign-in came from.' },
  { name: 'location', description: 'Where the address is located: city, state, country or region.' },
  {
    name: 'status.errorCode',
    description: 'The result of the sign-in.',
    codes: {
      '0': 'success',
      '50126': 'wrong user name or password',
      '50053': 'account locked or sign-in blocked',
      '50074': 'strong authentication (MFA) was required',
      '50076': 'MFA required by a policy',
      '53003': 'blocked by a conditional access policy',
      other: 'another failure; the failureReason field says which',
    },
  },
  { name: 'riskLevelDuringSignIn / riskLevelAggregated', description: 'How risky the sign-in looked to the identity service.', codes: RISK_LEVELS },
  { name: 'riskState', description: 'What became of a risk: none, confirmedSafe, remediated, dismissed, atRisk, confirmedCompromised.' },
  { name: 'clientAppUsed / deviceDetail', description: 'The kind of client and device used.' },
];

const KNOWN: Record<string, FileEntry> = {
  [PACKAGE_PATHS.requestInfo]: {
    description: 'The request this package answers: who asked, when, and when the data was read.',
    fields: [
      { name: 'operationId', description: 'Identifier of the export.' },
      { name: 'userId / userPrincipalName', description: 'The person the data is about (the data subject).' },
      { name: 'requestedBy', description: 'The administrator or application that requested the export.' },
      { name: 'submittedDateTime', description: 'When the export was requested.' },
      { name: 'snapshotDateTime', description: 'The moment the data was read: everything in the package is as of this instant.' },
      { name: 'storageLocation', description: 'Where the package was written (without its access key).' },
    ],
  },
  [PACKAGE_PATHS.user]: {
    description: 'Your directory profile, as Microsoft Graph shows a user.',
    fields: [
      { name: 'id', description: 'Your object identifier in the directory.' },
      { name: 'userPrincipalName', description: 'Your sign-in name.' },
      { name: 'displayName / givenName / surname', description: 'Your names.' },
      { name: 'mail / businessPhones / mobilePhone', description: 'Your contact details.' },
      { name: 'jobTitle / department / officeLocation', description: 'Your position in the organisation.' },
      { name: 'preferredLanguage', description: 'Your language.' },
      { name: 'accountEnabled', description: 'true when you can sign in.' },
      { name: 'createdDateTime', description: 'When the account was created.' },
    ],
  },
  [PACKAGE_PATHS.signInsJson]: { description: 'Your sign-ins (Microsoft Graph signIn records).', fields: SIGN_IN_FIELDS },
  [PACKAGE_PATHS.signInsCsv]: { description: 'The same sign-ins as a spreadsheet, one line each.', fields: SIGN_IN_FIELDS },
  [PACKAGE_PATHS.auditLogs]: {
    description: 'Directory audit records about you or done by you (Microsoft Graph directoryAudit).',
    fields: [
      { name: 'activityDateTime', description: 'When it happened (UTC).' },
      { name: 'activityDisplayName', description: 'What was done, e.g. "Update user" or "Export personal data requested".' },
      { name: 'category', description: 'The area of the directory concerned.' },
      {
        name: 'operationType',
        description: 'The kind of change.',
        codes: { Add: 'something was created', Update: 'something was changed', Delete: 'something was removed', Other: 'anything else' },
      },
      { name: 'result / resultReason', description: 'Whether it worked, and why not.', codes: { success: 'it worked', failure: 'it failed' } },
      { name: 'initiatedBy', description: 'Who did it (a user or an application). The IP address of other people is null when redacted.' },
      { name: 'targetResources', description: 'What it was done to (usually you).' },
      { name: 'additionalDetails', description: 'Further facts as key and value pairs.' },
    ],
  },
  [PACKAGE_PATHS.exportRequests]: {
    description: 'Every export of your data that was requested, this one included.',
    fields: [
      {
        name: 'status',
        description: 'Where the export stands.',
        codes: { notStarted: 'queued', running: 'being written', complete: 'delivered', failed: 'did not finish' },
      },
      { name: 'submittedDateTime / completedDateTime', description: 'When it was requested and when it ended.' },
      { name: 'storageLocation', description: 'Where it was written (without its access key).' },
    ],
  },
  [PACKAGE_PATHS.driveItems]: {
    description: 'Every file and folder in your OneDrive-style drive, with its properties.',
    fields: [
      { name: 'name / parentReference.path', description: 'The name and folder of the item.' },
      { name: 'size', description: 'Size in bytes.' },
      { name: 'file / folder', description: 'Present when the item is a file (with its type and hashes) or a folder.' },
      { name: 'createdDateTime / lastModifiedDateTime', description: 'When it was created and last changed.' },
      { name: 'createdBy / lastModifiedBy', description: 'Who created and last changed it.' },
      { name: 'packagePath', description: 'Where its content is in this package (under OneDrive/Files).' },
    ],
  },
  [PACKAGE_PATHS.activityJson]: { description: 'Everything that happened on your drive, by anyone.', fields: ACTIVITY_FIELDS },
  [PACKAGE_PATHS.activityCsv]: { description: 'The same activity as a spreadsheet.', fields: ACTIVITY_FIELDS },
  [PACKAGE_PATHS.activityElsewhereJson]: {
    description: "What you did on other people's drives (the activity record only, not their files).",
    fields: ACTIVITY_FIELDS,
  },
  [PACKAGE_PATHS.activityElsewhereCsv]: { description: "The same activity on other people's drives as a spreadsheet.", fields: ACTIVITY_FIELDS },
  [PACKAGE_PATHS.usageReport]: {
    description: 'How much happened on your drive per day, by kind of activity.',
    fields: [
      { name: 'Report Date', description: 'The day (UTC).' },
      { name: 'one column per activity type', description: 'How many activities of that type happened that day.', codes: ACTIVITY_TYPES },
      { name: 'Other / Total', description: 'Activities of other types, and all of them.' },
    ],
  },
  [PRIVACY_STATEMENT_PATH]: {
    description:
      'What the controller must tell you under GDPR Art. 15: purposes, recipients, retention, source, your rights, and what was left out of this package and why.',
    fields: [
      { name: 'statement', description: "The controller's statement, or null when none was set (then `note` says so)." },
      { name: 'redaction', description: "Whether other people's IP addresses and user agents were left out, where, how many, and why (Art. 15(4))." },
    ],
  },
  [DATA_DICTIONARY_PATH]: { description: 'This dictionary, for programs.', fields: [] },
  [README_PATH]: { description: 'This dictionary, for people.', fields: [] },
  [PACKAGE_PATHS.index]: { description: 'A page to read the package in a browser, with links to every file.', fields: [] },
  [PACKAGE_PATHS.manifest]: {
    description: 'The list of every file with its size and SHA-256 checksum, to check that nothing is missing or changed.',
    fields: [],
  },
  'manifest.json.jws': { description: "The service's signature over manifest.json (JSON Web Signature), to prove where the package comes from.", fields: [] },
};

/** The dictionary entry of a package path; every drive file shares one. */
export function describeFile(path: string): FileEntry {
  const known = KNOWN[path];
  if (known) return known;
  if (path.startsWith(`${PACKAGE_PATHS.filesRoot}/`)) {
    return { description: 'One of your files, byte for byte as stored in your drive (its properties are in OneDrive/DriveItems.json).', fields: [] };
  }
  return { description: 'A file of the package (not described in this version of the dictionary).', fields: [] };
}

/** The paths the dictionary describes as one entry: drive files are summarised under their folder. */
export function dictionaryKey(path: string): string {
  return path.startsWith(`${PACKAGE_PATHS.filesRoot}/`) ? `${PACKAGE_PATHS.filesRoot}/…` : path;
}

/** README.txt: the dictionary in plain text. */
export function readmeText(entries: readonly { path: string; entry: FileEntry }[], subject: string): string {
  const out = [
    `Personal data export for ${subject}`,
    '',
    'This folder holds a copy of the personal data the organisation keeps about you, with this',
    'explanation of every file and field. Open index.html in a browser to read it comfortably.',
    '',
  ];
  for (const { path, entry } of entries) {
    out.push(path, `  ${entry.description}`);
    for (const f of entry.fields) {
      out.push(`  - ${f.name}: ${f.description}`);
      for (const [code, meaning] of Object.entries(f.codes ?? {})) out.push(`      ${code}: ${meaning}`);
    }
    out.push('');
  }
  return `${out.join('\r\n')}\r\n`;
}
