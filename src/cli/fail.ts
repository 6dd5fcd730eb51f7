import { GUID_PATTERN } from '../domain/formats.ts';

/** An error the CLI reports as one line: what went wrong and what to do. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Prints one line (two with a hint) and the stack only when asked; returns the exit code. */
export function reportFailure(err: unknown, verbose: boolean, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): number {
  const message = err instanceof Error ? err.message : String(err);
  write(`dsr-export: ${message}`);
  if (err instanceof CliError && err.hint) write(`  ${err.hint}`);
  if (verbose && err instanceof Error && err.stack) write(err.stack);
  else if (!(err instanceof CliError)) write('  (run again with --verbose for details)');
  return 1;
}

/** A flag that must hold a GUID (a tenant id), checked before any work. */
export function requireGuid(flag: string, value: string): void {
  if (!GUID_PATTERN.test(value)) throw new CliError(`${flag} must be a GUID, got "${value}"`);
}
