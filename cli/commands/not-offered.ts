/**
 * Kyverno CLI commands this CLI does not offer. They are listed so that a Kyverno user's script
 * stops with the reason (exit 1, as Kyverno's CLI for any command error) instead of
 * "unknown command".
 */
import type { Command, CommandIO } from './command';

function notOffered(name: string, summary: string, reason: string, subcommands: string[] = []): Command {
  const usage = `Usage: kyverno-studio ${name}\n\nKyverno's \`kyverno ${name}\` (${summary}) is not offered: ${reason}.`;
  return {
    name,
    summary: `not offered (Kyverno's ${summary})`,
    usage,
    run(argv: string[], io: CommandIO): number {
      if (argv[0] === '--help' || argv[0] === '-h') {
        io.out(usage);
        return 0;
      }
      const sub = subcommands.includes(argv[0]) ? ` ${argv[0]}` : '';
      io.err(`Error: kyverno ${name}${sub} is not supported: ${reason}`);
      return 1;
    },
  };
}

export const NOT_OFFERED: Command[] = [
  notOffered('oci', 'push and pull policies as OCI images', 'policy images are not written or unpacked here (the registry client only reads what verifyImages needs); use Kyverno\'s CLI or `oras`', ['push', 'pull']),
  notOffered('docs', 'generates the Kyverno CLI\'s reference pages', 'this CLI\'s reference is its README and `--help`'),
  notOffered('migrate', 'migrates stored Kyverno resources to a new API version in a cluster', 'it rewrites a cluster\'s stored objects, which is Kyverno\'s own upgrade task'),
];
