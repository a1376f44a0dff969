/** Docker credential helpers, Kyverno's credential providers and the registry secrets policies name (no registry needed). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialHelper, keychainEntryFor, keychainForProviders, keychainFromDockerConfig, registrySecretRefs, RegistryClient, type HelperRunner } from '../../registry';
import { webhookRbac } from '../../deploy/rbac';
import { knownKindTable } from '../../engine/kube';

type Json = Record<string, unknown>;

describe('docker credential helpers', () => {
  const runner = (answers: Record<string, { code: number; stdout: string }>, calls: string[] = []): HelperRunner => async (program, input) => {
    calls.push(`${program} ${input}`);
    const a = answers[input] ?? { code: 1, stdout: 'credentials not found in native keychain' };
    return { ...a, stderr: '' };
  };

  it('reads a helper\'s JSON answer, a <token> user as an identity token, "not found" as no credential, and caches answers', async () => {
    const calls: string[] = [];
    const helper = credentialHelper('desk', runner({
      'reg.test': { code: 0, stdout: '{"ServerURL":"reg.test","Username":"u","Secret":"p"}' },
      'https://index.docker.io/v1/': { code: 0, stdout: '{"Username":"<token>","Secret":"refresh"}' },
    }, calls));
    assert.deepEqual(await helper.get('reg.test'), { username: 'u', password: 'p' });
    assert.deepEqual(await helper.get('https://index.docker.io/v1/'), { identityToken: 'refresh' });
    assert.equal(await helper.get('other.test'), undefined);
    await helper.get('reg.test');
    assert.deepEqual(calls, ['docker-credential-desk reg.test', 'docker-credential-desk https://index.docker.io/v1/', 'docker-credential-desk other.test']);
  });

  it('fails with docker\'s message when the helper fails or prints something else', async () => {
    const helper = credentialHelper('x', runner({ 'a.test': { code: 2, stdout: 'locked' }, 'b.test': { code: 0, stdout: 'not json' } }));
    await assert.rejects(helper.get('a.test'), /^Error: error getting credentials - err: exit status 2, out: `locked`$/);
    await assert.rejects(helper.get('b.test'), /error getting credentials - err: .*out: `not json`/);
  });

  it('orders a docker config as docker does: the host\'s helper, then the store, which replaces auths', () => {
    const helper = (name: string) => ({ name, get: async () => undefined });
    const withStore = keychainFromDockerConfig({ auths: { 'a.test': { auth: Buffer.from('u:p').toString('base64') } }, credHelpers: { 'b.test': 'pass' }, credsStore: 'desktop' }, helper);
    assert.equal(keychainEntryFor(withStore, 'b.test', 'x')?.helper?.name, 'pass');
    assert.equal(keychainEntryFor(withStore, 'a.test', 'x')?.helper?.name, 'desktop');
    const noStore = keychainFromDockerConfig({ auths: { 'a.test': { auth: Buffer.from('u:p').toString('base64') } }, credHelpers: { 'b.test': 'pass' } }, helper);
    assert.equal(keychainEntryFor(noStore, 'a.test', 'x')?.credential?.username, 'u');
    // Pull secrets (no helper factory) never name helpers.
    assert.equal(keychainEntryFor(keychainFromDockerConfig({ credsStore: 'desktop' }), 'a.test', 'x'), undefined);
  });

  it('asks a helper from the client on a challenge, and fails the read when the helper does', async () => {
    const fake = (async (_url: string | URL, init?: RequestInit) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      if (headers.Authorization === `Basic ${Buffer.from('u:p').toString('base64')}`) return new Response('{"schemaVersion":2}', { status: 200, headers: { 'docker-content-digest': 'sha256:x' } });
      return new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } });
    }) as typeof fetch;
    const ok = keychainFromDockerConfig({ credsStore: 's' }, () => ({ name: 's', get: async () => ({ username: 'u', password: 'p' }) }));
    assert.equal((await new RegistryClient({ fetch: fake, keychain: ok }).getManifest('reg.test', 'app', 'v1'))?.digest, 'sha256:x');
    const broken = keychainFromDockerConfig({ credsStore: 'b' }, () => ({ name: 'b', get: async () => { throw new Error('boom'); } }));
    await assert.rejects(new RegistryClient({ fetch: fake, keychain: broken }).getManifest('reg.test', 'app', 'v1'), /resolving credentials for reg\.test: boom/);
  });
});

describe('credential providers', () => {
  it('github gives ghcr.io the environment\'s token; without one it gives nothing', () => {
    const keychain = keychainForProviders(['github'], { env: { GITHUB_TOKEN: 't', GITHUB_ACTOR: 'me' } });
    assert.deepEqual(keychainEntryFor(keychain, 'ghcr.io', 'org/app')?.credential, { username: 'me', password: 't' });
    assert.equal(keychainEntryFor(keychain, 'quay.io', 'org/app'), undefined);
    assert.deepEqual(keychainForProviders(['github'], { env: {} }).entries, []);
    assert.equal(keychainEntryFor(keychainForProviders(['github'], { env: { GITHUB_TOKEN: 't' } }), 'ghcr.io', 'x')?.credential?.username, 'unset');
  });

  it('default is the given keychain; the cloud providers cover their registries and fail naming themselves', async () => {
    const local = keychainFromDockerConfig({ auths: { 'reg.test': { username: 'u', password: 'p' } } });
    assert.equal(keychainEntryFor(keychainForProviders(['default'], { defaultKeychain: local }), 'reg.test', 'x')?.credential?.username, 'u');
    const clouds = keychainForProviders(['amazon', 'azure', 'google'], { env: {} });
    assert.equal(keychainEntryFor(clouds, '123456789012.dkr.ecr.us-east-1.amazonaws.com', 'app')?.provider, 'amazon');
    assert.equal(keychainEntryFor(clouds, 'team.azurecr.io', 'app')?.provider, 'azure');
    assert.equal(keychainEntryFor(clouds, 'europe-docker.pkg.dev', 'p/r/app')?.provider, 'google');
    assert.equal(keychainEntryFor(clouds, 'gcr.io', 'p/app')?.provider, 'google');
    assert.equal(keychainEntryFor(clouds, 'quay.io', 'app'), undefined);
    const fake = (async () => new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/token"' } })) as unknown as typeof fetch;
    await assert.rejects(
      new RegistryClient({ fetch: fake, keychain: clouds }).getManifest('123456789012.dkr.ecr.us-east-1.amazonaws.com', 'app', 'v1'),
      /registry 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com asks for credentials from the amazon credential provider \(ECR's credential helper and the AWS credential chain\), which Kyverno Studio cannot use offline/,
    );
  });
});

describe('registry secrets the policies name', () => {
  const policies: Json[] = [
    { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'cp' }, spec: { rules: [{ name: 'r', verifyImages: [{ imageReferences: ['*'], imageRegistryCredentials: { secrets: ['regcred', 'team/pull'] } }] }] } },
    { apiVersion: 'policies.kyverno.io/v1', kind: 'ImageValidatingPolicy', metadata: { name: 'iv' }, spec: { credentials: { secrets: ['ivcred'], providers: ['github'] } } },
  ];

  it('lists them by namespace (Kyverno\'s for bare names)', () => {
    assert.deepEqual(registrySecretRefs(policies, 'ks').map((r) => `${r.namespace}/${r.name}`).sort(), ['ks/ivcred', 'ks/regcred', 'team/pull']);
  });

  it('grants the webhook get on exactly those secrets, in their namespaces', () => {
    const { objects } = webhookRbac('ks', policies, knownKindTable());
    const role = (ns: string) => (objects.find((o) => o.kind === 'Role' && (o.metadata as Json).namespace === ns)?.rules ?? []) as Json[];
    const secretRules = (ns: string) => role(ns).filter((r) => (r.resources as string[]).includes('secrets') && (r.verbs as string[]).join() === 'get');
    assert.deepEqual(secretRules('ks').map((r) => r.resourceNames).sort(), [['ivcred'], ['regcred']]);
    assert.deepEqual(secretRules('team').map((r) => r.resourceNames), [['pull']]);
    const cluster = (objects.find((o) => o.kind === 'ClusterRole')?.rules ?? []) as Json[];
    assert.ok(!cluster.some((r) => (r.resources as string[]).includes('secrets')), 'no cluster-wide Secret access');
  });
});
