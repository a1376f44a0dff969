/**
 * Git repositories as policy and test paths, as Kyverno's CLI reads them: an `http(s)://` path
 * is `<scheme>://<host>/<owner>/<repository>` followed by the branch (without `-b`) or by a
 * folder of the repository (with `-b BRANCH`); the branch is cloned shallow and its YAML files
 * are read. Kyverno clones with go-git; we run the `git` binary, so it must be on PATH.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Kyverno's source.IsGit: any http:// or https:// path. */
export function isGitSource(path: string): boolean {
  return /^(http|https):\/\//.test(path);
}

export interface GitSource {
  repoURL: string;
  branch: string;
  /** The folder of the repository whose YAML files are read ("/" for all). */
  folder: string;
}

/**
 * The repository, branch and folder a git path names (Kyverno's URL split and
 * GetGitBranchOrPolicyPaths, string replacements included). Throws Kyverno's message for a URL
 * without owner and repository.
 */
export function parseGitSource(path: string, gitBranch: string): GitSource {
  let url: URL;
  try {
    url = new URL(path);
  } catch {
    throw new Error(`failed to parse URL (invalid URL ${path})`);
  }
  const elems = url.pathname.slice(1).split('/');
  if (elems.length <= 1) {
    throw new Error(`failed to parse URL (invalid URL path ${url.pathname} - expected https://<any_git_source_domain>/:owner/:repository/:branch (without --git-branch flag) OR https://<any_git_source_domain>/:owner/:repository/:directory (with --git-branch flag))`);
  }
  const auth = url.username || url.password ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  const repoURL = `${url.protocol}//${auth}${url.host}/${elems[0]}/${elems[1]}`;
  const trailing = path.endsWith('/');
  if (gitBranch === '') {
    let branch = trailing ? path.replaceAll(`${repoURL}/`, '') : path.replaceAll(repoURL, '');
    if (branch === '') branch = 'main';
    else if (branch.startsWith('/')) branch = branch.slice(1);
    return { repoURL, branch, folder: '/' };
  }
  const folder = trailing ? path.replaceAll(`${repoURL}/`, '/') : path.replaceAll(repoURL, '/');
  return { repoURL, branch: gitBranch, folder };
}

export interface Clone {
  /** The local folder standing for the git path (the clone's folder). */
  path: string;
  dispose(): void;
}

/**
 * Clones the source's branch (depth 1, single branch, as Kyverno's gitutils.Clone) into a
 * temporary folder. With --username and --password both set, they go as HTTP basic auth, as
 * go-git sends them.
 */
export function cloneGitSource(source: GitSource, auth?: { username: string; password: string }): Clone {
  const dir = mkdtempSync(join(tmpdir(), 'kyverno-studio-git-'));
  const config: string[] = [];
  if (auth && auth.username !== '' && auth.password !== '') {
    config.push('-c', `http.extraHeader=Authorization: Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`);
  }
  const r = spawnSync('git', [...config, 'clone', '--quiet', '--depth', '1', '--single-branch', '--branch', source.branch, '--', source.repoURL, dir], {
    encoding: 'utf8',
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    timeout: 300_000,
  });
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  if (r.error || r.status !== 0) {
    dispose();
    const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    const why = missing
      ? 'the git binary is not on PATH (kyverno-studio clones repositories with git; install it or clone the repository and pass its folder)'
      : (r.stderr || r.error?.message || `git exited with ${r.status}`).trim().split('\n').pop();
    throw new Error(`failed to clone repository (${why})`);
  }
  // Kyverno reads the folder from the clone's root (filepath.Clean of "//dir" is "/dir").
  const folder = source.folder.split('/').filter((p) => p !== '' && p !== '.');
  if (folder.includes('..')) {
    dispose();
    throw new Error(`failed to list YAMLs in repository (folder ${source.folder} leaves the repository)`);
  }
  const path = join(dir, ...folder);
  if (!existsSync(path)) {
    dispose();
    throw new Error(`failed to list YAMLs in repository (${source.folder} does not exist in branch ${source.branch})`);
  }
  return { path, dispose };
}

/**
 * The paths with each git path cloned (cloneGitSource) and replaced by its clone's folder;
 * `dispose` removes the clones. When a clone fails, those already made are removed and the
 * error is thrown.
 */
export function cloneGitPaths(paths: readonly string[], branch: string, auth?: { username: string; password: string }): { paths: string[]; dispose(): void } {
  const clones: Clone[] = [];
  const dispose = () => {
    for (const clone of clones) clone.dispose();
  };
  try {
    const local = paths.map((path) => {
      if (!isGitSource(path)) return path;
      const clone = cloneGitSource(parseGitSource(path, branch), auth);
      clones.push(clone);
      return clone.path;
    });
    return { paths: local, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}
