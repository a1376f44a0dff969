/**
 * The `kyverno-studio` command line. Subcommands live in commands/, one file each, and are
 * listed in COMMANDS; `serve`, `lsp`, `deploy` and `undeploy` plug in the same way.
 * Everything is caught at this boundary: a bad input is a one-line error, never a stack.
 */
import { applyCommand } from './commands/apply';
import type { Command, CommandIO } from './commands/command';
import { errorText } from './commands/command';
import { testCommand } from './commands/test';
import { deployCommand } from './commands/deploy';
import { undeployCommand } from './commands/undeploy';
import { serveCommandEntry } from './commands/serve';
import { lspCommand } from './commands/lsp';
import { versionCommand } from './commands/version';
import { jpCommand } from './commands/jp';
import { createCommand } from './commands/create';
import { completionCommand } from './commands/completion';
import { fixCommand } from './commands/fix';
import { NOT_OFFERED } from './commands/not-offered';

export const COMMANDS: Command[] = [testCommand, applyCommand, serveCommandEntry, lspCommand, deployCommand, undeployCommand, versionCommand, jpCommand, createCommand, fixCommand];
COMMANDS.push(completionCommand(() => COMMANDS));

export function registerCommand(command: Command): void {
  const at = COMMANDS.findIndex((c) => c.name === command.name);
  if (at >= 0) COMMANDS[at] = command;
  else COMMANDS.push(command);
}

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'kyverno-studio: write, test and ship Kyverno policies',
    '',
    'Usage: kyverno-studio <command> [args]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `kyverno-studio <command> --help` for the flags of a command.',
  ].join('\n');
}

const defaultIO: CommandIO = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

export async function main(argv: string[], io: CommandIO = defaultIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name ? 0 : 2;
  }
  if (name === '--version') return versionCommand.run(rest, io);
  // Kyverno commands not offered stop with their reason; they stay out of help and completion.
  const command = COMMANDS.find((c) => c.name === name) ?? NOT_OFFERED.find((c) => c.name === name);
  if (!command) {
    io.err(`Error: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    io.err(`Error: ${name}: ${errorText(err)}`);
    return 1;
  }
}

// Scripts (conformance, bench) load the bundle for these; running it as a program starts the CLI.
export { runTestPaths, runTestFileFromDisk, summarize, describeTestFile } from './commands/test-run';
export { FAMILY_LABELS } from '../engine/testing';

if (typeof require !== 'undefined' && require.main === module) {
  // A closed pipe (`| head`) ends the output quietly instead of with a stack.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    });
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`Error: ${errorText(err)}\n`);
      process.exitCode = 1;
    },
  );
}
