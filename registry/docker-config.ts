/**
 * The local Docker config, as go-containerregistry's DefaultKeychain reads it for Kyverno's
 * CLI: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. Credential helpers
 * (`credsStore`, `credHelpers`) are not run.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { keychainFromDockerConfig, type Keychain } from './credentials';

export function dockerConfigKeychain(env: NodeJS.ProcessEnv = process.env): Keychain | undefined {
  const dir = env.DOCKER_CONFIG || join(homedir(), '.docker');
  let text: string;
  try {
    text = readFileSync(join(dir, 'config.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return keychainFromDockerConfig(JSON.parse(text));
  } catch {
    return undefined;
  }
}
