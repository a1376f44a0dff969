/** The TLS Secrets deploy writes, in Kyverno's layout, and what a redeploy does with them (deploy/plan.ts, deploy/run.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { runDeploy, type DeployUI } from '../../deploy/run';
import { planDeploy, DEFAULT_NAMESPACE, WEBHOOK_NAME } from '../../deploy/plan';
import { keyAlgorithmOf, makeCertificates, pemBlocks, type KeyAlgorithm } from '../../tls/certificates';
import { LEGACY_TLS_SECRET, tlsSecretNames } from '../../webhook/cert-renewer';
import { SERVICE_NAME } from '../../webhook/configurations';
import { knownKindTable } from '../../engine/kube';
import { parseServeArgs } from '../../webhook/serve';
import { REQUIRE_TEAM } from '../cluster/fixtures';
import { FakeKube } from './fake-kube';

type Json = Record<string, unknown>;
const CRDS = ['clusterpolicies.kyverno.io', 'policyreports.wgpolicyk8s.io', 'clusterpolicyreports.wgpolicyk8s.io', 'updaterequests.kyverno.io', 'policyexceptions.kyverno.io', 'policyexceptions.policies.kyverno.io'];
const OURS = { 'app.kubernetes.io/managed-by': 'kyverno-studio' };
const NAMES = tlsSecretNames(DEFAULT_NAMESPACE);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: unknown) => Buffer.from(String(s), 'base64').toString('utf8');
const quiet: DeployUI = { log: () => undefined, step: () => undefined, confirm: async () => true, offerPoliciesOnly: async () => false };

function deploy(kube: FakeKube, tlsKeyAlgorithm?: KeyAlgorithm) {
  return runDeploy({
    client: kube, ui: quiet, mode: 'cluster', policies: [REQUIRE_TEAM], webhookCode: Buffer.from('// webhook'), tlsKeyAlgorithm,
    imageDigest: async () => `sha256:${'0'.repeat(64)}`, readiness: async () => undefined, smokeCheck: false,
  });
}

function freshKube(): FakeKube {
  const kube = new FakeKube();
  for (const name of CRDS) kube.seed({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } });
  return kube;
}

const data = (kube: FakeKube, name: string) => (kube.object('Secret', name, DEFAULT_NAMESPACE)?.data ?? {}) as Json;

test('plan: Kyverno\'s CA and pair Secrets, mounted without the CA key, and --tls-key-algorithm for the renewer', () => {
  const certs = makeCertificates({ hosts: ['kyverno-svc.ks.svc'], algorithm: 'ECDSA' });
  const p = planDeploy({ mode: 'cluster', namespace: 'ks', policies: [REQUIRE_TEAM], kinds: knownKindTable(), certs, webhookCode: Buffer.from('x'), tlsKeyAlgorithm: 'ECDSA' });
  const secrets = p.objects.filter((o) => o.object.kind === 'Secret');
  assert.deepEqual(secrets.map((o) => [o.phase, (o.object.metadata as Json).name, o.object.type]), [
    ['tls', 'kyverno-svc.ks.svc.kyverno-tls-ca', 'kubernetes.io/tls'],
    ['tls', 'kyverno-svc.ks.svc.kyverno-tls-pair', 'kubernetes.io/tls'],
  ]);
  for (const s of secrets) assert.deepEqual((s.object.metadata as Json).labels, { ...OURS, 'cert.kyverno.io/managed-by': 'kyverno' });
  const [ca, pair] = secrets.map((s) => s.object.data as Json);
  assert.deepEqual([unb64(ca['tls.crt']), unb64(ca['tls.key'])], [certs.ca.certPem, certs.ca.keyPem]);
  assert.deepEqual([unb64(pair['tls.crt']), unb64(pair['tls.key'])], [certs.serving.certPem, certs.serving.keyPem]);
  const spec = ((p.objects.find((o) => o.object.kind === 'Deployment')!.object.spec as Json).template as Json).spec as Json;
  const volume = (spec.volumes as Json[]).find((v) => v.name === 'tls')!;
  assert.deepEqual((volume.projected as Json).sources, [
    { secret: { name: NAMES.pair.replace(DEFAULT_NAMESPACE, 'ks'), items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] } },
    { secret: { name: NAMES.ca.replace(DEFAULT_NAMESPACE, 'ks'), items: [{ key: 'tls.crt', path: 'ca.crt' }] } },
  ], 'the serving pair and the CA bundle as ca.crt; the CA key stays in its Secret');
  const args = ((spec.containers as Json[])[0].args as string[]);
  assert.deepEqual(args.slice(args.indexOf('--tls-key-algorithm'), args.indexOf('--tls-key-algorithm') + 2), ['--tls-key-algorithm', 'ECDSA']);
  const without = planDeploy({ mode: 'cluster', namespace: 'ks', policies: [REQUIRE_TEAM], kinds: knownKindTable(), certs, webhookCode: Buffer.from('x') });
  const withoutSpec = ((without.objects.find((o) => o.object.kind === 'Deployment')!.object.spec as Json).template as Json).spec as Json;
  assert.ok(!((withoutSpec.containers as Json[])[0].args as string[]).includes('--tls-key-algorithm'), 'no flag without the option (the webhook defaults to RSA)');
  assert.ok(!((withoutSpec.containers as Json[])[0].args as string[]).includes('--renew-before'), 'nor --renew-before (the webhook defaults to 15 days)');
  // deploy --renew-before: the webhook's renewer gets it in a form its flag reads.
  const early = planDeploy({ mode: 'cluster', namespace: 'ks', policies: [REQUIRE_TEAM], kinds: knownKindTable(), certs, webhookCode: Buffer.from('x'), renewBeforeMs: 30 * 86_400_000 });
  const earlyArgs = ((((early.objects.find((o) => o.object.kind === 'Deployment')!.object.spec as Json).template as Json).spec as Json).containers as Json[])[0].args as string[];
  const passed = earlyArgs.slice(earlyArgs.indexOf('--renew-before'), earlyArgs.indexOf('--renew-before') + 2);
  assert.deepEqual(passed, ['--renew-before', '2592000000ms']);
  assert.equal(parseServeArgs([...passed, '--in-cluster', '--tls-cert', 'c', '--tls-key', 'k']).renewBeforeMs, 30 * 86_400_000);
});

test('deploy writes RSA certificates by default and keeps them on a redeploy; another algorithm renews them', async () => {
  const kube = freshKube();
  const first = await deploy(kube);
  assert.equal(first.outcome, 'deployed', first.error);
  const ca = data(kube, NAMES.ca);
  assert.equal(keyAlgorithmOf(createPrivateKey(unb64(ca['tls.key']))), 'RSA');
  const leaf = new X509Certificate(unb64(data(kube, NAMES.pair)['tls.crt']));
  assert.ok(leaf.checkHost(`${SERVICE_NAME}.${DEFAULT_NAMESPACE}.svc`));
  assert.equal((await deploy(kube)).outcome, 'deployed');
  assert.deepEqual(data(kube, NAMES.ca), ca, 'a redeploy keeps the CA');
  assert.equal(new X509Certificate(unb64(data(kube, NAMES.pair)['tls.crt'])).fingerprint256, leaf.fingerprint256, 'and the serving certificate');

  assert.equal((await deploy(kube, 'Ed25519')).outcome, 'deployed');
  const bundle = pemBlocks(unb64(data(kube, NAMES.ca)['tls.crt']));
  assert.equal(bundle.length, 2, 'the RSA CA stays trusted beside the Ed25519 one');
  assert.equal(bundle[0], unb64(ca['tls.crt']));
  assert.equal(new X509Certificate(unb64(data(kube, NAMES.pair)['tls.crt'])).publicKey.asymmetricKeyType, 'ed25519');
  const vwc = kube.object('ValidatingWebhookConfiguration', 'kyverno-resource-validating-webhook-cfg');
  assert.deepEqual(pemBlocks(unb64(((vwc!.webhooks as Json[])[0].clientConfig as Json).caBundle)), bundle, 'the configurations trust both');
});

test('upgrading from our older single Secret: Kyverno\'s two Secrets, the old CA still trusted, the old Secret deleted', async () => {
  const kube = freshKube();
  const old = makeCertificates({ hosts: [`${SERVICE_NAME}.${DEFAULT_NAMESPACE}.svc`], algorithm: 'ECDSA' });
  kube.seed({
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: LEGACY_TLS_SECRET, namespace: DEFAULT_NAMESPACE, labels: OURS },
    data: { 'tls.crt': b64(old.serving.certPem), 'tls.key': b64(old.serving.keyPem), 'ca.crt': b64(old.ca.certPem) },
  });
  const r = await deploy(kube);
  assert.equal(r.outcome, 'deployed', r.error);
  assert.equal(LEGACY_TLS_SECRET, `${WEBHOOK_NAME}-tls`);
  assert.equal(kube.object('Secret', LEGACY_TLS_SECRET, DEFAULT_NAMESPACE), undefined, 'the older Secret is gone');
  const bundle = pemBlocks(unb64(data(kube, NAMES.ca)['tls.crt']));
  assert.deepEqual(bundle[0], old.ca.certPem, 'pods still serving the old certificate stay trusted while they roll');
  assert.equal(bundle.length, 2);
  assert.ok(new X509Certificate(unb64(data(kube, NAMES.pair)['tls.crt'])).checkIssued(new X509Certificate(bundle[1])));
});

test('Secrets someone else issues under Kyverno\'s names (cert-manager\'s, without its managed-by label) are served as they are, never written', async () => {
  const kube = freshKube();
  const issued = makeCertificates({ hosts: [`${SERVICE_NAME}.${DEFAULT_NAMESPACE}.svc`], algorithm: 'ECDSA' });
  const certManager = { 'controller.cert-manager.io/fao': 'true' };
  kube.seed({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: NAMES.ca, namespace: DEFAULT_NAMESPACE, labels: certManager }, data: { 'tls.crt': b64(issued.ca.certPem), 'tls.key': b64(issued.ca.keyPem), 'ca.crt': b64(issued.ca.certPem) } });
  kube.seed({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: NAMES.pair, namespace: DEFAULT_NAMESPACE, labels: certManager }, data: { 'tls.crt': b64(issued.serving.certPem), 'tls.key': b64(issued.serving.keyPem), 'ca.crt': b64(issued.ca.certPem) } });
  const lines: string[] = [];
  const r = await runDeploy({
    client: kube, ui: { ...quiet, log: (l) => lines.push(l) }, mode: 'cluster', policies: [REQUIRE_TEAM], webhookCode: Buffer.from('// webhook'),
    imageDigest: async () => `sha256:${'0'.repeat(64)}`, readiness: async () => undefined, smokeCheck: false,
  });
  assert.equal(r.outcome, 'deployed', r.error);
  assert.ok(!kube.writes.some((w) => w.includes(' Secret ')), kube.writes.join('\n'));
  assert.match(lines.join('\n'), /are not managed by kyverno .*the webhook serves them as they are/);
  const vwc = kube.object('ValidatingWebhookConfiguration', 'kyverno-resource-validating-webhook-cfg');
  assert.deepEqual(pemBlocks(unb64(((vwc!.webhooks as Json[])[0].clientConfig as Json).caBundle)), [issued.ca.certPem], 'the configurations trust their CA');
});
