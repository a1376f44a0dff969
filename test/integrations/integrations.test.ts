/**
 * The GitHub Action (action.yml) and the pre-commit hooks (.pre-commit-hooks.yaml), run here the
 * way GitHub and pre-commit run them, against the package tarball of this tree (no registry):
 *
 * - the action's steps run as GitHub's composite runner does: `bash --noprofile --norc -eo
 *   pipefail` on each `run`, `${{ inputs.* }}` and `${{ github.action_path }}` substituted
 *   into the step's env, $GITHUB_PATH added to PATH for the following steps, $GITHUB_OUTPUT read;
 * - the hook runs through the real pre-commit (Debian's package; .ci/run installs it) in a
 *   scratch git repository: `pre-commit try-repo` on this repository's .pre-commit-hooks.yaml,
 *   and README's self-installing `repo: local` variant (`language: node`, the tarball as its
 *   package) installed as a git hook that must block a commit whose tests fail; without
 *   pre-commit, the hook's entry runs as pre-commit would run it (repository root, no file names).
 *
 * `npm run test:integrations` (needs `npm run build`); .ci/run runs it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';

const REPO = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
const dir = mkdtempSync(join(tmpdir(), 'ks-integrations-'));
let tarball = '';

/** The environment of a CI shell: no npm lifecycle or repository settings leak in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|NODE_PATH$|NODE_OPTIONS$|INIT_CWD$|GITHUB_|RUNNER_)/i.test(k)));
  env.npm_config_cache = join(dir, 'npm-cache');
  env.npm_config_update_notifier = 'false';
  return env;
}

before(() => {
  assert.ok(existsSync(join(REPO, 'dist', 'cli.js')), 'dist/ is missing: run `npm run build` first');
  const r = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, env: cleanEnv(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  tarball = join(dir, (JSON.parse(r.stdout) as Array<{ filename: string }>)[0].filename);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A folder with the examples and their kyverno-test.yaml, as a user's repository would hold them. */
function workspace(name: string): string {
  const ws = join(dir, name);
  mkdirSync(ws, { recursive: true });
  cpSync(join(REPO, 'examples'), join(ws, 'examples'), { recursive: true });
  return ws;
}

/** Makes one expectation of the examples' test wrong, so the run must fail. */
function breakExamplesTest(ws: string): void {
  const file = join(ws, 'examples', 'kyverno-test.yaml');
  const text = readFileSync(file, 'utf8');
  const broken = text.replace(/(resources: \[default\/bad-pod\]\n\s+kind: Pod\n\s+result:) fail/, '$1 pass');
  assert.notEqual(broken, text);
  writeFileSync(file, broken);
}

// ---------------------------------------------------------------------------------------------
// GitHub Action

interface ActionStep { id?: string; name?: string; shell?: string; env?: Record<string, string>; run?: string; uses?: string }
interface ActionRun { code: number; output: string; outputs: Record<string, string>; path: string[] }

const action = parse(readFileSync(join(REPO, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string }>;
  runs: { using: string; steps: ActionStep[] };
};

/** `${{ inputs.x }}` and `${{ github.action_path }}`; anything else is a mistake here. */
function expand(text: string, inputs: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    const input = /^inputs\.([\w-]+)$/.exec(expr);
    if (input) {
      assert.ok(input[1] in action.inputs, `action.yml uses undeclared input ${input[1]}`);
      return inputs[input[1]] ?? action.inputs[input[1]].default ?? '';
    }
    if (expr === 'github.action_path') return REPO;
    throw new Error(`action.yml: expression \${{ ${expr} }} is not supported by this runner`);
  });
}

function runAction(ws: string, inputs: Record<string, string>): ActionRun {
  assert.equal(action.runs.using, 'composite');
  const runner = mkdtempSync(join(dir, 'runner-'));
  const files = { GITHUB_PATH: join(runner, 'path'), GITHUB_OUTPUT: join(runner, 'output'), GITHUB_ENV: join(runner, 'env') };
  const added: string[] = [];
  const outputs: Record<string, string> = {};
  let output = '';
  for (const step of action.runs.steps) {
    assert.ok(step.run && !step.uses, `step ${step.name}: only run steps are expected`);
    assert.equal(step.shell, 'bash');
    for (const f of Object.values(files)) writeFileSync(f, '');
    const env = cleanEnv();
    Object.assign(env, files, { RUNNER_TEMP: join(runner, 'temp'), GITHUB_WORKSPACE: ws, GITHUB_ACTION_PATH: REPO, CI: 'true' });
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = expand(v, inputs);
    env.PATH = [...added, env.PATH].join(delimiter);
    mkdirSync(env.RUNNER_TEMP!, { recursive: true });
    const script = join(runner, `${step.id ?? 'step'}.sh`);
    writeFileSync(script, expand(step.run!, inputs));
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: ws, env, encoding: 'utf8', timeout: 300_000 });
    output += r.stdout + r.stderr;
    if (r.status !== 0) return { code: r.status ?? 1, output, outputs, path: added };
    // Entries added to GITHUB_PATH come first in PATH for the steps after this one.
    added.unshift(...readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean).reverse());
    for (const line of readFileSync(files.GITHUB_OUTPUT, 'utf8').split('\n')) {
      const m = /^([\w-]+)=(.*)$/.exec(line);
      if (m && step.id) outputs[`${step.id}.${m[1]}`] = m[2];
    }
  }
  return { code: 0, output, outputs, path: added };
}

let installedBin = '';

test('the action installs the package and runs kyverno-studio test on the path', () => {
  const ws = workspace('action-pass');
  const r = runAction(ws, { version: tarball, path: 'examples' });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /Test Summary: 7 tests passed and 0 tests failed/);
  assert.equal(r.outputs['install.version'], pkg.version);
  installedBin = r.path[0];
});

test('the action fails the job when a test fails, and passes args through', () => {
  const ws = workspace('action-fail');
  breakExamplesTest(ws);
  const r = runAction(ws, { version: tarball, path: 'examples', args: '--detailed-results --fail-only' });
  assert.equal(r.code, 1, r.output);
  // Both flags reached the CLI: --fail-only's summary, --detailed-results' MESSAGE column.
  assert.match(r.output, /Test Summary: 1 out of 7 tests failed/);
  assert.match(r.output, /│ MESSAGE +│/);
});

test('the action refuses an input it does not declare', () => {
  assert.throws(() => expand('${{ inputs.nope }}', {}), /undeclared input nope/);
  assert.deepEqual(Object.keys(action.inputs).sort(), ['args', 'path', 'version']);
});

// ---------------------------------------------------------------------------------------------
// pre-commit

interface HookDefinition { id: string; entry: string; language: string; files?: string; pass_filenames?: boolean; [k: string]: unknown }
const hooks = parse(readFileSync(join(REPO, '.pre-commit-hooks.yaml'), 'utf8')) as HookDefinition[];

function git(repo: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()) {
  const r = spawnSync('git', ['-c', 'user.name=ci', '-c', 'user.email=ci@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: repo, env, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status ?? 1, output: r.stdout + r.stderr };
}

/** A git repository holding the examples (and the given pre-commit configuration). */
function gitRepository(name: string, config?: unknown): string {
  const repo = workspace(name);
  assert.equal(git(repo, ['init', '-q']).code, 0);
  if (config) writeFileSync(join(repo, '.pre-commit-config.yaml'), stringify(config));
  assert.equal(git(repo, ['add', '-A']).code, 0);
  return repo;
}

/** README's self-installing variant: pre-commit installs the npm package into its own Node env. */
const SELF_INSTALLING_HOOK = {
  id: 'kyverno-studio-test',
  name: 'kyverno-studio test (self-installing)',
  entry: 'kyverno-studio test',
  language: 'node',
  files: '\\.ya?ml$',
  pass_filenames: false,
  additional_dependencies: ['kyverno-studio@' + pkg.version],
};

const preCommit = spawnSync('pre-commit', ['--version'], { encoding: 'utf8' });
const NO_PRE_COMMIT = preCommit.status === 0 ? false : 'pre-commit is not installed (Debian package pre-commit); the entry test below still runs';

function preCommitEnv(): NodeJS.ProcessEnv {
  const env = cleanEnv();
  env.PRE_COMMIT_HOME = join(dir, 'pre-commit-home');
  env.PATH = [installedBin, env.PATH].join(delimiter);
  return env;
}

function runPreCommit(repo: string, env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync('pre-commit', args, { cwd: repo, env, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status ?? 1, output: r.stdout + r.stderr };
}

test('the hook definition runs kyverno-studio test from PATH on YAML changes', () => {
  assert.deepEqual(hooks.map((h) => [h.id, h.language, h.entry, h.pass_filenames]), [['kyverno-studio-test', 'system', 'kyverno-studio test', false]]);
  const files = new RegExp(hooks[0].files!);
  assert.ok(files.test('policies/p.yaml') && files.test('t/kyverno-test.yml') && !files.test('README.md'));
  // README's variant has the same fields but the language and the package.
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  assert.match(readme, /language: node\n\s+additional_dependencies: \['kyverno-studio@[\d.]+'\]/);
});

test('pre-commit try-repo runs the hook from this repository', { skip: NO_PRE_COMMIT }, () => {
  assert.ok(installedBin, 'the action test installed kyverno-studio');
  const repo = gitRepository('try-repo');
  const env = preCommitEnv();
  // try-repo reads .pre-commit-hooks.yaml from this repository, uncommitted changes included.
  const passed = runPreCommit(repo, env, 'try-repo', REPO, 'kyverno-studio-test', '--all-files');
  assert.equal(passed.code, 0, passed.output);
  assert.match(passed.output, /kyverno-studio test\.+Passed/);
  breakExamplesTest(repo);
  const failed = runPreCommit(repo, env, 'try-repo', REPO, 'kyverno-studio-test', '--all-files');
  assert.equal(failed.code, 1, failed.output);
  assert.match(failed.output, /kyverno-studio test\.+Failed/);
  assert.match(failed.output, /Test Summary: 6 tests passed and 1 tests failed/);
});

test('the self-installing variant blocks a commit whose tests fail', { skip: NO_PRE_COMMIT }, () => {
  // The package comes from this tree's tarball instead of the registry.
  const hook = { ...SELF_INSTALLING_HOOK, additional_dependencies: [tarball] };
  const repo = gitRepository('self-installing', { repos: [{ repo: 'local', hooks: [hook] }] });
  const env = cleanEnv();
  env.PRE_COMMIT_HOME = join(dir, 'pre-commit-home');
  assert.equal(runPreCommit(repo, env, 'install').code, 0);
  // git runs the installed hook with this environment (pre-commit's cache; no kyverno-studio on PATH).
  const committed = git(repo, ['commit', '-qm', 'policies'], env);
  assert.equal(committed.code, 0, `a commit with passing tests goes through:\n${committed.output}`);
  assert.match(committed.output, /kyverno-studio test \(self-installing\)\.+Passed/);
  breakExamplesTest(repo);
  git(repo, ['add', '-A']);
  const blocked = git(repo, ['commit', '-qm', 'broken'], env);
  assert.notEqual(blocked.code, 0, blocked.output);
  assert.match(blocked.output, /kyverno-studio test \(self-installing\)\.+Failed/);
  assert.match(blocked.output, /1 tests failed/);
});

test('the hooks\' entry, run as pre-commit runs it, passes and fails with the tests', () => {
  assert.ok(installedBin, 'the action test installed kyverno-studio');
  const repo = workspace('entry');
  const env = cleanEnv();
  env.PATH = [installedBin, env.PATH].join(delimiter);
  // pass_filenames: false, so the entry runs alone, in the repository root.
  const [command, ...args] = hooks[0].entry.split(' ');
  const passed = spawnSync(command, args, { cwd: repo, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(passed.status, 0, passed.stdout + passed.stderr);
  assert.match(passed.stdout, /Test Summary: 7 tests passed and 0 tests failed/);
  breakExamplesTest(repo);
  const failed = spawnSync(command, args, { cwd: repo, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(failed.status, 1);
});
