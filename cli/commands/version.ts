/** `kyverno-studio version` (and `--version`): Kyverno's three lines, or `-o json|yaml`. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseCommandArgs, single } from '../../io/args';
import type { Command, CommandIO } from './command';
import { goYaml } from './apply-report';

const USAGE = `Usage: kyverno-studio version [-o json|yaml]

Prints the version of kyverno-studio (it follows Kyverno 1.19's behaviour).

Flags:
  -o, --output FORMAT   json or yaml
  -h, --help            show this help`;

/** The package's version, read from the package.json above this file (bundle or sources). */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'kyverno-studio' && pkg.version) return pkg.version;
      } catch {
        // not ours: keep looking upwards
      }
    }
    if (dirname(dir) === dir) return '---';
  }
}

const VERSION_FLAGS = { values: [], scalars: ['output'], booleans: ['help'], aliases: { o: 'output', h: 'help' }, choices: { output: ['json', 'yaml'] } };

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the version (like `kyverno version`)',
  usage: USAGE,
  flags: VERSION_FLAGS,
  run(argv: string[], io: CommandIO): number {
    const args = parseCommandArgs(argv, VERSION_FLAGS, USAGE, io);
    if (typeof args === 'number') return args;
    if (args.positionals.length > 0) {
      io.err(`Error: unknown command "${args.positionals[0]}" for "kyverno-studio version"`);
      return 1;
    }
    // Kyverno takes time and commit from the Go build info; a JS bundle has neither ("---").
    const info = { version: packageVersion(), time: '---', gitCommitId: '---' };
    const output = single(args, 'output');
    if (output === undefined) io.out(`Version: ${info.version}\nTime: ${info.time}\nGit commit ID: ${info.gitCommitId}`);
    else if (output === 'json') io.out(JSON.stringify(info, null, 2));
    else if (output === 'yaml') io.out(goYaml(info));
    else {
      io.err(`Error: invalid output format: ${output} (supported formats: json, yaml)`);
      return 1;
    }
    return 0;
  },
};
