/** `kyverno-studio apply --registry`: signatures read from a real registry before evaluation. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyCommand } from '../../cli/commands/apply';
import { testCommand } from '../../cli/commands/test';
import { newSigningKey, pushCosignSignatures, pushImage, startRegistry, type LocalRegistry } from './harness';

let registry: LocalRegistry;
let dir: string;

async function apply(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await applyCommand.run(args, { out: (t) => (out += `${t}\n`), err: (t) => (out += `${t}\n`) });
  return { code, out };
}

describe('apply --registry', () => {
  before(async () => {
    registry = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'ks-apply-registry-'));
    const key = newSigningKey();
    const digest = await pushImage(registry.host, 'app/web', '1.0');
    await pushCosignSignatures(registry.host, 'app/web', digest, [{ key }]);
    await pushImage(registry.host, 'app/unsigned', '1.0');
    const pem = key.publicKeyPem.trim().split('\n').map((l) => `                      ${l}`).join('\n');
    writeFileSync(join(dir, 'policy.yaml'), `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: signed-images
spec:
  webhookConfiguration:
    failurePolicy: Fail
  rules:
    - name: check-signature
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["${registry.host}/*"]
          mutateDigest: false
          verifyDigest: false
          required: false
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${pem}
                    rekor:
                      ignoreTlog: true
                    ctlog:
                      ignoreSCT: true
`);
    const pod = (name: string, image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
spec:
  containers:
    - name: c
      image: ${image}
`;
    writeFileSync(join(dir, 'signed.yaml'), pod('signed', `${registry.host}/app/web:1.0`));
    writeFileSync(join(dir, 'unsigned.yaml'), pod('unsigned', `${registry.host}/app/unsigned:1.0`));
  });
  after(() => {
    registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes a signed image and fails an unsigned one', async () => {
    const { code, out } = await apply([join(dir, 'policy.yaml'), '--resource', join(dir, 'signed.yaml'), '--resource', join(dir, 'unsigned.yaml'), '--registry']);
    assert.match(out, /pass: 1, fail: 1, warn: 0, error: 0, skip: 0/, out);
    assert.match(out, /no signatures found/);
    assert.equal(code, 1);
  });

  it('runs kyverno-test.yaml expectations with test --registry', async () => {
    writeFileSync(join(dir, 'kyverno-test.yaml'), `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata:
  name: signed-images
policies: [policy.yaml]
resources: [signed.yaml, unsigned.yaml]
results:
  - policy: signed-images
    rule: check-signature
    resources: [signed]
    kind: Pod
    result: pass
  - policy: signed-images
    rule: check-signature
    resources: [unsigned]
    kind: Pod
    result: fail
`);
    let out = '';
    const io = { out: (t: string) => (out += `${t}\n`), err: (t: string) => (out += `${t}\n`) };
    assert.equal(await testCommand.run([dir, '--registry'], io), 0, out);
    out = '';
    assert.equal(await testCommand.run([dir], io), 1, 'offline the expectations cannot hold');
  });

  it('stays offline without --registry', async () => {
    const { out } = await apply([join(dir, 'policy.yaml'), '--resource', join(dir, 'signed.yaml')]);
    assert.match(out, /pass: 0, fail: 0, warn: 0, error: 1, skip: 0/, out);
  });
});
