// "Kyverno: Install CLI on PATH" without VS Code: the plan, the shim it writes (run for real on
// the built dist/cli.js), the refresh on activation, and what it refuses to touch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cmdScript, planCliInstall, refreshCliShim, shimScript, SHIM_MARKER, writeShim, type CliInstallEnvironment } from '../../client/src/cli/install';

const REPO = resolve(__dirname, '../..');
const CLI = join(REPO, 'dist', 'cli.js');

function environment(home: string, overrides: Partial<CliInstallEnvironment> = {}): CliInstallEnvironment {
  return { platform: 'linux', home, env: { PATH: '/usr/bin:/bin' }, cliScript: CLI, runtime: process.execPath, electron: false, ...overrides };
}

test('on Linux and macOS the shim goes to ~/.local/bin and says whether that is on PATH', () => {
  const home = mkdtempSync(join(tmpdir(), 'ks-cli-home-'));
  const plan = planCliInstall(environment(home));
  assert.equal(plan.kind, 'shim');
  if (plan.kind !== 'shim') return;
  assert.equal(plan.file, join(home, '.local', 'bin', 'kyverno-studio'));
  assert.equal(plan.onPath, false);
  assert.equal(plan.replaces, 'nothing');
  const onPath = planCliInstall(environment(home, { platform: 'darwin', env: { PATH: `/usr/bin:${join(home, '.local', 'bin')}/` } }));
  assert.equal(onPath.kind === 'shim' && onPath.onPath, true);
  const xdg = planCliInstall(environment(home, { env: { XDG_BIN_HOME: join(home, 'bin'), PATH: '' } }));
  assert.equal(xdg.kind === 'shim' && xdg.file, join(home, 'bin', 'kyverno-studio'));
});

test('the written shim runs the CLI bundle, and paths with spaces and quotes survive', () => {
  assert.ok(existsSync(CLI), 'dist/cli.js missing: run npm run build first');
  const home = mkdtempSync(join(tmpdir(), "ks-cli home 'quoted'-"));
  // The extension folder has a space and a quote in its path too.
  const extension = join(home, "ext dir 'x'");
  mkdirSync(join(extension, 'dist'), { recursive: true });
  writeFileSync(join(extension, 'dist', 'cli.js'), readFileSync(CLI));
  writeFileSync(join(extension, 'package.json'), readFileSync(join(REPO, 'package.json')));
  const plan = planCliInstall(environment(home, { cliScript: join(extension, 'dist', 'cli.js') }));
  assert.equal(plan.kind, 'shim');
  if (plan.kind !== 'shim') return;
  writeShim(plan);
  assert.equal(statSync(plan.file).mode & 0o777, 0o755);
  if (process.platform === 'win32') return;
  const r = spawnSync(plan.file, ['version'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  assert.match(r.stdout, new RegExp(`^Version: ${version.replace(/\./g, '\\.')}`));
  // Arguments pass through untouched.
  const help = spawnSync(plan.file, ['test', '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.match(help.stdout + help.stderr, /test-case-selector/);
});

test('under VS Code desktop the shim asks Electron to run as Node', () => {
  const text = shimScript({ cliScript: '/x/dist/cli.js', runtime: '/usr/share/code/code', electron: true });
  assert.match(text, /^#!\/bin\/sh\n/);
  assert.match(text, /\nELECTRON_RUN_AS_NODE=1\nexport ELECTRON_RUN_AS_NODE\nexec '\/usr\/share\/code\/code' '\/x\/dist\/cli.js' "\$@"\n$/);
  assert.doesNotMatch(shimScript({ cliScript: '/x/dist/cli.js', runtime: '/usr/bin/node', electron: false }), /ELECTRON/);
  assert.match(cmdScript({ cliScript: 'C:\\ext\\dist\\cli.js', runtime: 'C:\\Code\\Code.exe', electron: true }), /set ELECTRON_RUN_AS_NODE=1\r\n"C:\\Code\\Code\.exe" "C:\\ext\\dist\\cli\.js" %\*/);
});

test('on Windows the command explains how, with the exact paths, and writes nothing', () => {
  const home = mkdtempSync(join(tmpdir(), 'ks-cli-win-'));
  const plan = planCliInstall(environment(home, { platform: 'win32', cliScript: 'C:\\ext\\dist\\cli.js', runtime: 'C:\\Code\\Code.exe', electron: true }));
  assert.equal(plan.kind, 'instructions');
  if (plan.kind !== 'instructions') return;
  assert.equal(plan.reason, 'windows');
  assert.match(plan.message, /kyverno-studio\.cmd/);
  assert.match(plan.message, /npm install -g kyverno-studio/);
  assert.match(plan.copy, /"C:\\Code\\Code\.exe" "C:\\ext\\dist\\cli\.js" %\*/);
  assert.equal(existsSync(join(home, '.local')), false);
});

test('a kyverno-studio the extension did not write is left alone', () => {
  const home = mkdtempSync(join(tmpdir(), 'ks-cli-foreign-'));
  const file = join(home, '.local', 'bin', 'kyverno-studio');
  mkdirSync(join(home, '.local', 'bin'), { recursive: true });
  writeFileSync(file, '#!/bin/sh\necho from npm\n');
  const plan = planCliInstall(environment(home));
  assert.equal(plan.kind, 'instructions');
  assert.equal(plan.kind === 'instructions' && plan.reason, 'occupied');
  assert.equal(refreshCliShim(environment(home)), false);
  assert.equal(readFileSync(file, 'utf8'), '#!/bin/sh\necho from npm\n');
});

test('activation rewrites our shim when the extension moved, and never creates one', () => {
  const home = mkdtempSync(join(tmpdir(), 'ks-cli-refresh-'));
  assert.equal(refreshCliShim(environment(home)), false);
  assert.equal(existsSync(join(home, '.local', 'bin', 'kyverno-studio')), false, 'no shim until the user asks');
  const old = planCliInstall(environment(home, { cliScript: '/old/extension-0.0.9/dist/cli.js' }));
  assert.equal(old.kind, 'shim');
  if (old.kind !== 'shim') return;
  writeShim(old);
  assert.equal(refreshCliShim(environment(home)), true);
  const text = readFileSync(old.file, 'utf8');
  assert.ok(text.includes(SHIM_MARKER));
  assert.ok(text.includes(CLI) && !text.includes('/old/'));
  assert.equal(refreshCliShim(environment(home)), false, 'nothing to do the second time');
  const again = planCliInstall(environment(home));
  assert.equal(again.kind === 'shim' && again.replaces, 'our shim');
});
