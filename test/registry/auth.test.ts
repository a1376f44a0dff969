/**
 * Registry authentication against docker-registry configured with htpasswd (basic auth) and
 * with a token server (bearer challenge → token endpoint): credentials from pull secrets
 * named by imageRegistryCredentials or the Pod's imagePullSecrets, and from a docker config.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateWithRegistry, keysAttestor, podOf, verifyImagesPolicy } from './evaluate';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { dockerConfigKeychain, keychainFromDockerConfig, RegistryClient, type PrefetchOptions } from '../../registry';
import { newSigningKey, pushCosignSignatures, pushImage, REGISTRY_USERS, startRegistry, type LocalRegistry, type SigningKey } from './harness';

function dockerConfig(host: string, user: string, password: string): JsonObject {
  return { auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } };
}

function pullSecret(namespace: string, name: string, config: JsonObject): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: { name, namespace },
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}

function policy(host: string, key: SigningKey, credentials?: JsonObject): JsonObject {
  return verifyImagesPolicy('private-images', {
    imageReferences: [`${host}/*`],
    ...(credentials ? { imageRegistryCredentials: credentials } : {}),
    attestors: [keysAttestor(key.publicKeyPem)],
  });
}

function pod(image: string, pullSecrets: string[] = []): JsonObject {
  return podOf(image, { namespace: 'team', pullSecrets });
}

async function verify(p: JsonObject, resource: JsonObject, options: Omit<PrefetchOptions, 'client'> = {}): Promise<RuleResult> {
  const { rules } = await evaluateWithRegistry(p, resource, { client: new RegistryClient({ timeoutMs: 3000 }), ...options });
  assert.equal(rules.length, 1, JSON.stringify(rules));
  return rules[0];
}

for (const mode of ['htpasswd', 'token'] as const) {
  describe(`a registry with ${mode} authentication`, () => {
    let registry: LocalRegistry;
    let key: SigningKey;
    let image: string;
    // htpasswd knows the admin only; the token server also grants pull to the reader.
    const user = mode === 'htpasswd' ? 'admin' : 'reader';
    const password = REGISTRY_USERS[user];

    before(async () => {
      registry = await startRegistry(mode);
      key = newSigningKey();
      const digest = await pushImage(registry.host, 'private/app', 'v1');
      await pushCosignSignatures(registry.host, 'private/app', digest, [{ key }]);
      image = `${registry.host}/private/app:v1`;
    });
    after(() => registry?.stop());

    it('fails without credentials, naming the image and the registry answer', async () => {
      const r = await verify(policy(registry.host, key), pod(image));
      assert.equal(r.status, 'fail');
      assert.match(r.message, new RegExp(`^failed to verify image ${image}: .attestors\\[0\\]\\.entries\\[0\\]\\.keys: GET http://${registry.host}/v2/private/app/manifests/v1: UNAUTHORIZED: authentication required`));
    });

    it('uses a dockerconfigjson secret named by imageRegistryCredentials (Kyverno namespace by default)', async () => {
      const secret = pullSecret('kyverno', 'regcred', dockerConfig(registry.host, user, password));
      const r = await verify(policy(registry.host, key, { secrets: ['regcred'] }), pod(image), { secrets: [secret] });
      assert.equal(r.status, 'pass', r.message);
      // The same name in another namespace is not the Kyverno one.
      const elsewhere = pullSecret('team', 'regcred', dockerConfig(registry.host, user, password));
      assert.equal((await verify(policy(registry.host, key, { secrets: ['regcred'] }), pod(image), { secrets: [elsewhere] })).status, 'fail');
      assert.equal((await verify(policy(registry.host, key, { secrets: ['team/regcred'] }), pod(image), { secrets: [elsewhere] })).status, 'pass');
    });

    it("uses the Pod's imagePullSecrets from its namespace", async () => {
      const secret = pullSecret('team', 'pull', dockerConfig(registry.host, user, password));
      const r = await verify(policy(registry.host, key), pod(image, ['pull']), { secrets: [secret] });
      assert.equal(r.status, 'pass', r.message);
    });

    it('uses the docker config ($DOCKER_CONFIG/config.json)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ks-docker-config-'));
      try {
        writeFileSync(join(dir, 'config.json'), JSON.stringify(dockerConfig(`http://${registry.host}`, user, password)));
        const keychain = dockerConfigKeychain({ DOCKER_CONFIG: dir });
        assert.ok(keychain);
        assert.equal((await verify(policy(registry.host, key), pod(image), { keychain })).status, 'pass');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('runs the docker config\'s credential helpers (credHelpers, credsStore) as docker-credential-<name> get', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ks-cred-helper-'));
      try {
        // A helper as docker-credential-helpers write them: the server URL on stdin, JSON on stdout.
        const helper = (name: string, body: string) => {
          writeFileSync(join(dir, `docker-credential-${name}`), `#!/bin/sh\nread server\n${body}\n`);
          chmodSync(join(dir, `docker-credential-${name}`), 0o755);
        };
        helper('kstest', `if [ "$server" = "${registry.host}" ]; then echo '{"ServerURL":"'$server'","Username":"${user}","Secret":"${password}"}'; else echo "credentials not found in native keychain"; exit 1; fi`);
        helper('ksbroken', 'echo "keychain locked" ; exit 3');
        const withPath = { DOCKER_CONFIG: dir };
        const oldPath = process.env.PATH;
        process.env.PATH = `${dir}:${oldPath}`;
        try {
          writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'kstest' } }));
          assert.equal((await verify(policy(registry.host, key), pod(image), { keychain: dockerConfigKeychain(withPath) })).status, 'pass');
          writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'kstest', auths: { [registry.host]: {} } }));
          assert.equal((await verify(policy(registry.host, key), pod(image), { keychain: dockerConfigKeychain(withPath) })).status, 'pass');
          // A helper that fails fails the read, naming the helper's answer; a missing helper says so.
          writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'ksbroken' }));
          const broken = await verify(policy(registry.host, key), pod(image), { keychain: dockerConfigKeychain(withPath) });
          assert.equal(broken.status, 'fail');
          assert.match(broken.message, new RegExp(`failed to verify image ${image}: .*resolving credentials for ${registry.host}: error getting credentials - err: exit status 3, out: .keychain locked.`));
          writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'ks-absent' }));
          const absent = await verify(policy(registry.host, key), pod(image), { keychain: dockerConfigKeychain(withPath) });
          assert.match(absent.message, /exec: "docker-credential-ks-absent": executable file not found in \$PATH/);
        } finally {
          process.env.PATH = oldPath;
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reads the secrets the policy names from the cluster when they are not among the inputs (the webhook)', async () => {
      const secret = pullSecret('kyverno', 'regcred', dockerConfig(registry.host, user, password));
      const asked: string[] = [];
      const readSecret = async (namespace: string, name: string) => {
        asked.push(`${namespace}/${name}`);
        return namespace === 'kyverno' && name === 'regcred' ? secret : undefined;
      };
      const r = await verify(policy(registry.host, key, { secrets: ['regcred', 'team/absent'] }), pod(image), { readSecret });
      assert.equal(r.status, 'pass', r.message);
      assert.deepEqual(asked.sort(), ['kyverno/regcred', 'team/absent']);
    });

    it('parses credential providers: github from the environment, the cloud ones fail naming the provider', async () => {
      // The local registry is none of the providers' registries: they add nothing and the read fails unauthenticated.
      const r = await verify(policy(registry.host, key, { providers: ['default', 'amazon', 'azure', 'google', 'github'] }), pod(image), { env: { GITHUB_TOKEN: 't' } });
      assert.equal(r.status, 'fail');
      assert.match(r.message, /UNAUTHORIZED/);
    });

    it('fails with wrong credentials', async () => {
      const keychain = keychainFromDockerConfig(dockerConfig(registry.host, user, 'wrong'));
      const r = await verify(policy(registry.host, key), pod(image), { keychain });
      assert.equal(r.status, 'fail');
      assert.match(r.message, /401|UNAUTHORIZED/);
    });
  });
}
