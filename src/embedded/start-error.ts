/** A failure to start the embedded database, in one line that says what to do about it. */
export class StartError extends Error {
  override name = 'StartError';
}
