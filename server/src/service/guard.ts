/**
 * Checks are independent: an internal error in one of them (a bug, an input shape nobody
 * foresaw) must not take the other diagnostics of the file with it. It becomes one
 * diagnostic where the check was looking, and a log line with the stack.
 */
import type { ParsedFile } from './documents';
import { rangeOf } from './documents';
import { Codes, Severity, diag, type Diagnostic } from './codes';

export type CheckLog = (message: string) => void;

export function internalErrorDiagnostic(file: ParsedFile, offset: number, what: string, err: unknown): Diagnostic {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return diag(rangeOf(file, offset, offset), Severity.Warning, Codes.internalError,
    `Kyverno Studio internal error in ${what}: ${message}. The other checks still ran; please report this.`);
}

/** Runs check; if it throws, adds one internal-error diagnostic at offset and logs the stack. */
export function runCheck(file: ParsedFile, offset: number, what: string, out: Diagnostic[], check: () => void, log?: CheckLog): void {
  try {
    check();
  } catch (err) {
    log?.(`${what} failed on ${file.uri}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    out.push(internalErrorDiagnostic(file, offset, what, err));
  }
}
