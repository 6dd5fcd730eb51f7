// Bidirectional embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069): in a name,
// a right-to-left override makes "gpj.exe" read as "exe.jpg" in every viewer that shows it (an
// admin console, a file manager, a spreadsheet), not only in the package's index.html.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/;
// C0 and C1 controls and DEL: a property of a directory user is one line of text, and PostgreSQL
// cannot store a NUL at all.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/;

function codePoint(c: string): string {
  return `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** "U+202E" for the first bidirectional override or isolate in the text, else undefined. */
export function bidiControlIn(text: string): string | undefined {
  const m = BIDI_CONTROLS.exec(text);
  return m ? codePoint(m[0]) : undefined;
}

/** "U+0000" for the first control character in the text, else undefined. */
export function controlCharacterIn(text: string): string | undefined {
  const m = CONTROLS.exec(text);
  return m ? codePoint(m[0]) : undefined;
}
