/**
 * Tables that hold a reference to a user but are not exported, each with the reason. The
 * completeness test (test/export-completeness.test.ts) fails for a table with a user reference
 * that no section exports and this list does not name.
 */
export const NOT_EXPORTED: Readonly<Record<string, string>> = {
  // Upload state, not data: a session lives hours to days, holds a hash of its URL, the byte
  // ranges received and the intended name. What it uploads becomes a drive item, which DriveItems
  // and Files export; an unfinished upload is discarded when it expires.
  upload_sessions: 'transient upload state; its committed result is a drive item (DriveItems, Files)',
  // The privacy team's case file about a request (status, reviewers, notes, exclusions). The
  // subject is told about the case through its final report (getFinalReport / the Art. 15
  // statement); the export a case runs would otherwise carry the open case and its internal notes.
  subject_rights_requests: 'case management records of the privacy team, reported to the subject through the case final report',
  // Credentials, not data: a hash of a one-time console sign-in nonce that is spent within
  // minutes. The sign-ins they lead to are API calls, recorded like any other caller's.
  console_sign_in_links: 'one-time console sign-in credentials (hashed), spent or expired within minutes',
};
