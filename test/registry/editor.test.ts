/**
 * The language server reads the registry for manifest diagnostics only when `registryAccess` is
 * on and the workspace is trusted; an image that fails verification is underlined at its
 * `image` field. The server runs as the editor starts it (stdio JSON-RPC).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LspClient, type PublishedDiagnostics } from '../server/lsp-client';
import { newSigningKey, pushCosignSignatures, pushImage, startRegistry, type LocalRegistry } from './harness';

let registry: LocalRegistry;
let workspace: string;
let manifest: string;

/** The workspace's policy, written as JSON (which is YAML too). */
function policyText(host: string, pem: string): string {
  return JSON.stringify({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'signed-images' },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [{
        name: 'check-signature',
        match: { any: [{ resources: { kinds: ['Pod'] } }] },
        verifyImages: [{
          imageReferences: [`${host}/*`],
          mutateDigest: false,
          verifyDigest: false,
          required: false,
          attestors: [{ entries: [{ keys: { publicKeys: pem, rekor: { ignoreTlog: true } } }] }],
        }],
      }],
    },
  }, null, 2);
}

async function session(settings: Record<string, unknown>, trusted: boolean, check: (first: PublishedDiagnostics, client: LspClient, uri: string) => Promise<void>): Promise<void> {
  const client = new LspClient();
  try {
    await client.initialize(workspace, settings, { trusted });
    const uri = pathToFileURL(join(workspace, 'pod.yaml')).toString();
    await check(await client.open(uri, manifest), client, uri);
  } finally {
    await client.close();
  }
}

const imageVerify = (p: PublishedDiagnostics) => p.diagnostics.filter((d) => d.message.startsWith('signed-images/check-signature'));

describe('editor: registry access for manifest diagnostics', () => {
  before(async () => {
    registry = await startRegistry();
    const key = newSigningKey();
    const digest = await pushImage(registry.host, 'app/web', '1.0');
    await pushCosignSignatures(registry.host, 'app/web', digest, [{ key }]);
    await pushImage(registry.host, 'app/unsigned', '1.0');
    workspace = mkdtempSync(join(tmpdir(), 'ks-editor-registry-'));
    writeFileSync(join(workspace, 'policy.yaml'), policyText(registry.host, key.publicKeyPem));
    manifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
spec:
  containers:
    - name: web
      image: ${registry.host}/app/web:1.0
    - name: sidecar
      image: ${registry.host}/app/unsigned:1.0
`;
  });
  after(() => {
    registry?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('with access on in a trusted workspace, underlines the unsigned image once the registry answers', async () => {
    await session({ registryAccess: true }, true, async (first, client, uri) => {
      // The first answers are offline (the workspace scan may also come after the open); the
      // registry read then validates the file again.
      let later = first;
      for (let i = 0; i < 5 && !imageVerify(later).some((d) => /no signatures found/.test(d.message)); i++) later = await client.nextDiagnostics(uri);
      const found = imageVerify(later);
      assert.equal(found.length, 1, JSON.stringify(later.diagnostics));
      assert.match(found[0].message, /failed to verify image .*app\/unsigned:1\.0: .*no signatures found/);
      assert.equal(found[0].range.start.line, 10, 'at the sidecar image');
      assert.equal(found[0].range.start.character, 13);
    });
  });

  it('stays offline when access is off, or the workspace is not trusted', async () => {
    for (const [settings, trusted] of [[{ registryAccess: false }, true], [{ registryAccess: true }, false]] as const) {
      await session(settings, trusted, async (first, client, uri) => {
        assert.ok(imageVerify(first).every((d) => /needs registry access/.test(d.message)), JSON.stringify(first.diagnostics));
        // Time enough for a registry read, had one started.
        await new Promise((r) => setTimeout(r, 1500));
        const again = await client.change(uri, `${manifest}\n`);
        assert.ok(imageVerify(again).length >= 1 && imageVerify(again).every((d) => /needs registry access/.test(d.message)), JSON.stringify(again.diagnostics));
      });
    }
  });
});
