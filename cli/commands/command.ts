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

/**
 * A command made of subcommands (`jp query`, `create test`): no argument or `--help` prints
 * the usage (exit 0), an unknown name is a usage error (exit 2).
 */
export function runSubcommand(parent: string, usage: string, run: (name: string) => ((argv: string[], io: CommandIO) => number) | undefined, argv: string[], io: CommandIO): number {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage);
    return 0;
  }
  const handler = run(name);
  if (!handler) {
    io.err(`Error: unknown command "${name}" for "kyverno-studio ${parent}"\n${usage}`);
    return 2;
  }
  return handler(rest, io);
}

export function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}
