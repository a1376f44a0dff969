/** The registry client's authentication and credentials, against a scripted fetch (no registry needed). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialFor, keychainFromDockerConfig, keychainFromSecret, parseChallenge, RegistryClient, secretRef } from '../../registry';

function auth(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}

describe('registry credentials', () => {
  it('matches docker config keys by host, port, wildcard label and path prefix', () => {
    const keychain = keychainFromDockerConfig({
      auths: {
        'https://index.docker.io/v1/': { auth: auth('hub', 'p1') },
        'registry.example.com:5000/team': { username: 'team', password: 'p2' },
        '*.corp.example': { auth: auth('corp', 'p3') },
      },
    });
    assert.equal(credentialFor(keychain, 'docker.io', 'library/nginx')?.username, 'hub');
    assert.equal(credentialFor(keychain, 'registry.example.com:5000', 'team/app')?.username, 'team');
    assert.equal(credentialFor(keychain, 'registry.example.com:5000', 'other/app'), undefined);
    assert.equal(credentialFor(keychain, 'registry.example.com', 'team/app'), undefined);
    assert.equal(credentialFor(keychain, 'eu.corp.example', 'x')?.password, 'p3');
    assert.equal(credentialFor(keychain, 'a.b.corp.example', 'x'), undefined);
  });

  it('reads dockerconfigjson and legacy dockercfg secrets; others give none', () => {
    const data = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
    const json = keychainFromSecret({ kind: 'Secret', type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': data({ auths: { 'r.test': { auth: auth('u', 'p') } } }) } });
    assert.equal(credentialFor(json, 'r.test', 'a')?.username, 'u');
    const legacy = keychainFromSecret({ kind: 'Secret', type: 'kubernetes.io/dockercfg', data: { '.dockercfg': data({ 'r.test': { auth: auth('v', 'p') } }) } });
    assert.equal(credentialFor(legacy, 'r.test', 'a')?.username, 'v');
    assert.equal(keychainFromSecret({ kind: 'Secret', type: 'Opaque', data: { token: 'eA==' } }), undefined);
    assert.equal(keychainFromSecret({ kind: 'Secret', type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': 'not base64 json' } }), undefined);
  });

  it('names secrets as Kyverno does: ns/name, else the default namespace', () => {
    assert.deepEqual(secretRef('regcred', 'kyverno'), { namespace: 'kyverno', name: 'regcred' });
    assert.deepEqual(secretRef('team/regcred', 'kyverno'), { namespace: 'team', name: 'regcred' });
    assert.deepEqual(secretRef('/regcred', 'ns'), { namespace: 'ns', name: 'regcred' });
  });

  it('parses WWW-Authenticate challenges', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.test/token",service="registry.test",scope="repository:a/b:pull"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.test/token', service: 'registry.test', scope: 'repository:a/b:pull' },
    });
    assert.deepEqual(parseChallenge('Basic realm=x'), { scheme: 'basic', params: { realm: 'x' } });
  });
});

describe('registry client authentication', () => {
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] });

  it('answers a bearer challenge with a token from the realm, sending the credential there, and reuses it', async () => {
    const calls: Array<{ url: string; authorization?: string }> = [];
    const fake = (async (url: string | URL, init?: RequestInit) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      calls.push({ url: String(url), authorization: headers.Authorization });
      if (String(url).startsWith('https://auth.test/token')) {
        return new Response(JSON.stringify({ token: headers.Authorization === `Basic ${auth('u', 'p')}` ? 'T' : 'anon' }), { status: 200 });
      }
      if (headers.Authorization === 'Bearer T') return new Response(manifest, { status: 200, headers: { 'docker-content-digest': 'sha256:x' } });
      return new Response('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/token",service="reg"' } });
    }) as typeof fetch;
    const client = new RegistryClient({ fetch: fake, keychain: keychainFromDockerConfig({ auths: { 'registry.test': { auth: auth('u', 'p') } } }) });
    const m = await client.getManifest('registry.test', 'team/app', 'v1');
    assert.equal(m?.digest, 'sha256:x');
    assert.equal(calls[1].url, 'https://auth.test/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull');
    await client.getManifest('registry.test', 'team/app', 'v2');
    assert.equal(calls.length, 4, 'the token is reused for the next request');
    assert.equal(calls[3].authorization, 'Bearer T');
    // Without credentials the anonymous token is refused: the registry's error is reported.
    await assert.rejects(new RegistryClient({ fetch: fake }).getManifest('registry.test', 'team/app', 'v1'), /GET https:\/\/registry\.test\/v2\/team\/app\/manifests\/v1: UNAUTHORIZED: authentication required/);
  });

  it('answers a basic challenge only with a credential', async () => {
    const fake = (async (_url: string | URL, init?: RequestInit) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      if (headers.Authorization === `Basic ${auth('u', 'p')}`) return new Response(manifest, { status: 200 });
      return new Response('', { status: 401, statusText: 'Unauthorized', headers: { 'www-authenticate': 'Basic realm="r"' } });
    }) as typeof fetch;
    const keychain = keychainFromDockerConfig({ auths: { '10.0.0.1:5000': { username: 'u', password: 'p' } } });
    const client = new RegistryClient({ fetch: fake, keychain });
    assert.equal(client.baseUrl('10.0.0.1:5000'), 'http://10.0.0.1:5000', 'a private address is spoken to over HTTP');
    assert.ok(await client.getManifest('10.0.0.1:5000', 'a', 'v1'));
    await assert.rejects(new RegistryClient({ fetch: fake }).getManifest('10.0.0.1:5000', 'a', 'v1'), /unexpected status code 401 Unauthorized/);
  });

  it('marks a call that timed out as a network failure', async () => {
    const hang = ((_u: string | URL, init?: RequestInit) => new Promise<Response>((_r, reject) => init?.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))))) as typeof fetch;
    await assert.rejects(new RegistryClient({ fetch: hang, timeoutMs: 30 }).getManifest('r.test', 'a', 'v1'), (e: Error & { network?: boolean }) => e.network === true && /timed out after 30 ms/.test(e.message));
  });
});
