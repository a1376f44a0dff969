/**
 * The GitHub Action (action.yml) and the pre-commit hooks (.pre-commit-hooks.yaml), run here the
 * way GitHub and pre-commit run them, against the package tarball of this tree (no registry):
 *
 * - the action's steps run as GitHub's composite runner does: `bash --noprofile --norc -eo
 *   pipefail` on each `run`, `${{ inputs.* }}` and `${{ github.action_path }}` substituted
 *   into the step's env, $GITHUB_PATH added to PATH for the following steps, $GITHUB_OUTPUT read;
 * - the hooks run through the real pre-commit (Debian's package; .ci/run installs it) in a
 *   scratch git repository, as `repo: local` hooks with the fields of .pre-commit-hooks.yaml and,
 *   for the `language: node` hook, the tarball as its package; without pre-commit, the hooks'
 *   entry runs as pre-commit would run it (in the repository root, no file names).
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

/** A git repository holding the examples, with hooks whose fields come from .pre-commit-hooks.yaml. */
function hookRepository(name: string): string {
  const repo = workspace(name);
  assert.equal(git(repo, ['init', '-q']).code, 0);
  const local = hooks.map((h) => {
    const { minimum_pre_commit_version: _, ...fields } = h;
    // `repo: local` has no package of its own: the node hook gets the tarball as its package.
    return h.language === 'node' ? { ...fields, additional_dependencies: [tarball] } : fields;
  });
  writeFileSync(join(repo, '.pre-commit-config.yaml'), stringify({ repos: [{ repo: 'local', hooks: local }] }));
  assert.equal(git(repo, ['add', '-A']).code, 0);
  return repo;
}

const preCommit = spawnSync('pre-commit', ['--version'], { encoding: 'utf8' });
const hasPreCommit = preCommit.status === 0;

test('the hooks are defined for kyverno-studio test, once self-installing and once from PATH', () => {
  assert.deepEqual(hooks.map((h) => [h.id, h.language, h.entry, h.pass_filenames]), [
    ['kyverno-studio-test', 'node', 'kyverno-studio test', false],
    ['kyverno-studio-test-system', 'system', 'kyverno-studio test', false],
  ]);
  for (const h of hooks) assert.ok(new RegExp(h.files!).test('policies/p.yaml') && new RegExp(h.files!).test('t/kyverno-test.yml'));
});

test('the hooks run through pre-commit and block a commit whose tests fail', { skip: hasPreCommit ? false : 'pre-commit is not installed (Debian package pre-commit); the entry test below still runs' }, () => {
  assert.ok(installedBin, 'the action test installed kyverno-studio for the system hook');
  const repo = hookRepository('pre-commit');
  const env = cleanEnv();
  env.PRE_COMMIT_HOME = join(dir, 'pre-commit-home');
  env.PATH = [installedBin, env.PATH].join(delimiter);
  const run = (...args: string[]) => {
    const r = spawnSync('pre-commit', args, { cwd: repo, env, encoding: 'utf8', timeout: 600_000 });
    return { code: r.status ?? 1, output: r.stdout + r.stderr };
  };
  const passed = run('run', '--all-files');
  assert.equal(passed.code, 0, passed.output);
  assert.equal(passed.output.match(/kyverno-studio test\.+Passed/g)?.length, 2, passed.output);
  assert.equal(run('install').code, 0);
  // git runs the installed hook with this environment (pre-commit's cache, the system hook's PATH).
  const committed = git(repo, ['commit', '-qm', 'policies'], env);
  assert.equal(committed.code, 0, `a commit with passing tests goes through:\n${committed.output}`);
  breakExamplesTest(repo);
  git(repo, ['add', '-A']);
  const blocked = git(repo, ['commit', '-qm', 'broken'], env);
  assert.notEqual(blocked.code, 0, blocked.output);
  assert.match(blocked.output, /kyverno-studio test\.+Failed/);
  assert.match(blocked.output, /1 tests failed/);
});

test('the hooks\' entry, run as pre-commit runs it, passes and fails with the tests', () => {
  assert.ok(installedBin, 'the action test installed kyverno-studio');
  const repo = workspace('entry');
  const env = cleanEnv();
  env.PATH = [installedBin, env.PATH].join(delimiter);
  for (const h of hooks) {
    // pass_filenames: false, so the entry runs alone, in the repository root.
    const [command, ...args] = h.entry.split(' ');
    const r = spawnSync(command, args, { cwd: repo, env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Test Summary: 7 tests passed and 0 tests failed/);
  }
  breakExamplesTest(repo);
  const [command, ...args] = hooks[0].entry.split(' ');
  const r = spawnSync(command, args, { cwd: repo, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1);
});
