/**
 * The local Docker config, as go-containerregistry's DefaultKeychain reads it for Kyverno's
 * CLI (and for the `default` credential provider): `$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`, with its credential helpers: `credHelpers` per registry and
 * `credsStore` for the others run as `docker-credential-<name> get`, the server URL on stdin
 * and `{"ServerURL","Username","Secret"}` on stdout (a `<token>` user's secret is an identity
 * token). Answers are kept a minute per helper and server, so a warm run spawns nothing.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { keychainFromDockerConfig, type CredentialHelper, type Keychain, type RegistryCredential } from './credentials';

const HELPER_TIMEOUT_MS = 10_000;
const HELPER_TTL_MS = 60_000;

/** What a helper printed and how it exited. */
export interface HelperRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type HelperRunner = (program: string, input: string, timeoutMs: number) => Promise<HelperRun>;

/** Runs `<program> get` with `input` on stdin; a missing program rejects with Go's exec message. */
export const runHelperProcess: HelperRunner = (program, input, timeoutMs) =>
  new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    } catch (e) {
      reject(e as Error);
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new Error(`exec: "${program}": executable file not found in $PATH`) : e);
    });
    child.on('close', (code, signal) => {
      if (signal) reject(new Error(`${program} get: killed by ${signal} (timeout ${timeoutMs} ms)`));
      else resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });

/** docker's credential helper client: the credential, undefined when the helper has none for the server. */
export function credentialHelper(name: string, run: HelperRunner = runHelperProcess, now: () => number = Date.now): CredentialHelper {
  const program = `docker-credential-${name}`;
  const answers = new Map<string, { expires: number; value: Promise<RegistryCredential | undefined> }>();
  const ask = async (serverUrl: string): Promise<RegistryCredential | undefined> => {
    const { code, stdout } = await run(program, serverUrl, HELPER_TIMEOUT_MS);
    const out = stdout.trim();
    if (code !== 0) {
      // docker-credential-helpers' ErrCredentialsNotFound: no credential, anonymous access.
      if (/credentials not found/i.test(out)) return undefined;
      throw new Error(`error getting credentials - err: exit status ${code ?? 'unknown'}, out: \`${out}\``);
    }
    let doc: { Username?: unknown; Secret?: unknown };
    try {
      doc = JSON.parse(out) as typeof doc;
    } catch (e) {
      throw new Error(`error getting credentials - err: ${(e as Error).message}, out: \`${out}\``);
    }
    const username = typeof doc.Username === 'string' ? doc.Username : '';
    const secret = typeof doc.Secret === 'string' ? doc.Secret : '';
    if (username === '<token>') return { identityToken: secret };
    if (username === '' && secret === '') return undefined;
    return { username, password: secret };
  };
  return {
    name,
    get(serverUrl) {
      const hit = answers.get(serverUrl);
      if (hit && hit.expires > now()) return hit.value;
      const value = ask(serverUrl);
      answers.set(serverUrl, { expires: now() + HELPER_TTL_MS, value });
      value.catch(() => answers.delete(serverUrl));
      return value;
    },
  };
}

/** Helpers are shared by name for the life of the process (their answers are cached). */
const helpers = new Map<string, CredentialHelper>();

function sharedHelper(name: string): CredentialHelper {
  let helper = helpers.get(name);
  if (!helper) helpers.set(name, (helper = credentialHelper(name)));
  return helper;
}

export function dockerConfigKeychain(env: NodeJS.ProcessEnv = process.env, helper: (name: string) => CredentialHelper = sharedHelper): Keychain | undefined {
  const dir = env.DOCKER_CONFIG || join(homedir(), '.docker');
  let text: string;
  try {
    text = readFileSync(join(dir, 'config.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return keychainFromDockerConfig(JSON.parse(text), helper);
  } catch {
    return undefined;
  }
}
