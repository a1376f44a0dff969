/** The contract every `kyverno-studio` subcommand implements. */
import type { FlagSpec } from '../../io/args';

export interface CommandIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** The flags the command parses (io/args), read by shell completion. */
  flags?: FlagSpec;
  /** Subcommands (`jp query`, `create test`...) and their flags. */
  subcommands?: Record<string, FlagSpec>;
  /** Returns the process exit code. Must not throw for bad input: report and carry on. */
  run(argv: string[], io: CommandIO): Promise<number> | number;
}

export function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}
