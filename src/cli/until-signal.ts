/** Resolves on the first SIGTERM or SIGINT; the caller's graceful stop follows. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}
