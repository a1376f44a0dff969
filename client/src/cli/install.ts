/**
 * "Kyverno: Install CLI on PATH": the .vsix carries the CLI bundle (dist/cli.js); this puts a
 * `kyverno-studio` shim for it in the user's bin folder (`$XDG_BIN_HOME`, else `~/.local/bin`)
 * on Linux and macOS, and on Windows says how (a .cmd file, or the npm package).
 *
 * The shim runs the CLI on the runtime of the extension host (VS Code's own binary in Node
 * mode, or the Node of a remote/code-server host), which exists wherever the extension runs,
 * even on a machine without Node. Both paths change when VS Code or the extension is updated,
 * so activation rewrites a shim this module wrote (`refreshCliShim`) and leaves any other file
 * alone. No vscode import: the plan is tested with plain Node.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter as pathDelimiter, join, resolve } from 'node:path';

export const CLI_NAME = 'kyverno-studio';
/** The line that marks a shim as ours (so it may be rewritten). */
export const SHIM_MARKER = '# Written by the Kyverno Studio VS Code extension (Kyverno: Install CLI on PATH).';

export interface CliInstallEnvironment {
  platform: NodeJS.Platform;
  home: string;
  env: Record<string, string | undefined>;
  /** dist/cli.js inside the installed extension. */
  cliScript: string;
  /** The executable that runs the extension host (process.execPath). */
  runtime: string;
  /** The runtime is Electron (VS Code desktop): it must be told to behave as Node. */
  electron: boolean;
}

export type CliInstallPlan =
  | { kind: 'shim'; dir: string; file: string; content: string; onPath: boolean; replaces: 'nothing' | 'our shim' }
  | { kind: 'instructions'; reason: 'windows' | 'occupied'; message: string; detail: string; copy: string };

/** A POSIX shell word for any string. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function shimScript(e: Pick<CliInstallEnvironment, 'cliScript' | 'runtime' | 'electron'>): string {
  return [
    '#!/bin/sh',
    SHIM_MARKER,
    '# It runs the CLI shipped inside the extension; the extension keeps these paths current.',
    ...(e.electron ? ['ELECTRON_RUN_AS_NODE=1', 'export ELECTRON_RUN_AS_NODE'] : []),
    `exec ${shellQuote(e.runtime)} ${shellQuote(e.cliScript)} "$@"`,
    '',
  ].join('\n');
}

/** The Windows command file a user can create by hand. */
export function cmdScript(e: Pick<CliInstallEnvironment, 'cliScript' | 'runtime' | 'electron'>): string {
  return ['@echo off', ...(e.electron ? ['set ELECTRON_RUN_AS_NODE=1'] : []), `"${e.runtime}" "${e.cliScript}" %*`, ''].join('\r\n');
}

export function binDirectory(e: Pick<CliInstallEnvironment, 'home' | 'env'>): string {
  return e.env.XDG_BIN_HOME ? resolve(e.env.XDG_BIN_HOME) : join(e.home, '.local', 'bin');
}

function onPath(dir: string, e: Pick<CliInstallEnvironment, 'env' | 'platform'>): boolean {
  const separator = e.platform === 'win32' ? ';' : pathDelimiter;
  const wanted = resolve(dir);
  return (e.env.PATH ?? '').split(separator).some((entry) => entry !== '' && resolve(entry) === wanted);
}

function readIfExists(file: string): string | undefined {
  try {
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return '';
  }
}

export function planCliInstall(e: CliInstallEnvironment): CliInstallPlan {
  if (e.platform === 'win32') {
    const cmd = cmdScript(e);
    return {
      kind: 'instructions',
      reason: 'windows',
      message: `Kyverno: to run ${CLI_NAME} from a terminal, save the lines below as ${CLI_NAME}.cmd in a folder on your PATH, or install the npm package (npm install -g kyverno-studio, Node 20+).`,
      detail: cmd,
      copy: cmd,
    };
  }
  const dir = binDirectory(e);
  const file = join(dir, CLI_NAME);
  const existing = readIfExists(file);
  const content = shimScript(e);
  if (existing !== undefined && !existing.includes(SHIM_MARKER)) {
    const line = `${shellQuote(e.runtime)} ${shellQuote(e.cliScript)}`;
    return {
      kind: 'instructions',
      reason: 'occupied',
      message: `Kyverno: ${file} already exists and was not written by Kyverno Studio, so it was left alone. The CLI shipped with the extension runs as: ${e.electron ? 'ELECTRON_RUN_AS_NODE=1 ' : ''}${line}`,
      detail: content,
      copy: content,
    };
  }
  return { kind: 'shim', dir, file, content, onPath: onPath(dir, e), replaces: existing === undefined ? 'nothing' : 'our shim' };
}

/** Writes the shim a plan describes (executable by its owner and readable by all). */
export function writeShim(plan: Extract<CliInstallPlan, { kind: 'shim' }>): void {
  mkdirSync(plan.dir, { recursive: true });
  writeFileSync(plan.file, plan.content);
  chmodSync(plan.file, 0o755);
}

/** On activation: rewrite our shim when VS Code or the extension moved; never create one. */
export function refreshCliShim(e: CliInstallEnvironment): boolean {
  const plan = planCliInstall(e);
  if (plan.kind !== 'shim' || plan.replaces !== 'our shim' || readIfExists(plan.file) === plan.content) return false;
  writeShim(plan);
  return true;
}
