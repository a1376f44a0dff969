/**
 * verifyImages in the webhook's mutating path against a real registry: the review's images are
 * read before evaluation within its deadline, verified images get their digest, failures
 * under Enforce deny, and a registry that does not answer in time follows failurePolicy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { answerAdmissionReview } from '../../webhook/admission';
import { ImageRegistryAccess } from '../../webhook/images';
import type { ClusterState, JsonObject } from '../../engine/core/types';
import { newSigningKey, pushCosignSignatures, pushImage, startRegistry, type LocalRegistry, type SigningKey } from './harness';

let registry: LocalRegistry;
let key: SigningKey;
let digest: string;
const EMPTY: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

function policy(host: string, options: { action?: string; failurePolicy?: string } = {}): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'signed-images' },
    spec: {
      ...(options.failurePolicy ? { webhookConfiguration: { failurePolicy: options.failurePolicy } } : {}),
      rules: [{
        name: 'verify',
        match: { any: [{ resources: { kinds: ['Pod'] } }] },
        verifyImages: [{
          imageReferences: [`${host}/*`],
          failureAction: options.action ?? 'Enforce',
          verifyDigest: false,
          required: false,
          attestors: [{ entries: [{ keys: { publicKeys: key.publicKeyPem, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }] }],
        }],
      }],
    },
  };
}

function review(image: string): JsonObject {
  const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'default' }, spec: { containers: [{ name: 'app', image }] } };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', operation: 'CREATE', object, userInfo: { username: 'alice' } },
  };
}

async function admit(policies: JsonObject[], image: string, access = new ImageRegistryAccess({ timeoutMs: 2000 }), deadline = Date.now() + 5000) {
  const r = review(image);
  const cluster = await access.clusterFor(policies, (r.request as JsonObject).object as JsonObject, EMPTY, deadline);
  const answer = answerAdmissionReview(r, 'mutate', policies, cluster, deadline);
  return answer.body.response as { allowed: boolean; patch?: string; status?: { message: string } };
}

describe('the webhook verifies images against a real registry', () => {
  let silent: Server;
  let silentHost: string;
  const sockets: Socket[] = [];

  before(async () => {
    registry = await startRegistry();
    key = newSigningKey();
    digest = await pushImage(registry.host, 'team/app', 'v1');
    await pushCosignSignatures(registry.host, 'team/app', digest, [{ key }]);
    await pushImage(registry.host, 'team/unsigned', 'v1');
    // A registry that accepts connections and never answers.
    silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentHost = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  });
  after(() => {
    registry?.stop();
    for (const s of sockets) s.destroy();
    silent?.close();
  });

  it('admits a signed image and patches in its digest', async () => {
    const response = await admit([policy(registry.host)], `${registry.host}/team/app:v1`);
    assert.equal(response.allowed, true);
    const patch = JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString()) as Array<{ path: string; value: unknown }>;
    assert.ok(patch.some((op) => op.path === '/spec/containers/0/image' && op.value === `${registry.host}/team/app:v1@${digest}`), JSON.stringify(patch));
  });

  it('denies an unsigned image under Enforce and names the image', async () => {
    const response = await admit([policy(registry.host)], `${registry.host}/team/unsigned:v1`);
    assert.equal(response.allowed, false);
    assert.match(response.status?.message ?? '', /resource Pod\/default\/app was blocked due to the following policies/);
    // Quoted (the message holds ": ") and folded past column 80, as go-yaml writes it.
    assert.match(response.status?.message ?? '', new RegExp(`signed-images:\\n  verify: 'failed to verify image ${registry.host}/team/unsigned:v1: [^]*no signatures found'`));
  });

  it('admits an unsigned image under Audit', async () => {
    assert.equal((await admit([policy(registry.host, { action: 'Audit' })], `${registry.host}/team/unsigned:v1`)).allowed, true);
  });

  it('follows failurePolicy when the registry does not answer within the deadline', async () => {
    const access = new ImageRegistryAccess({ timeoutMs: 5000, reserveMs: 50 });
    const started = Date.now();
    const fail = await admit([policy(silentHost, { action: 'Audit' })], `${silentHost}/team/app:v1`, access, Date.now() + 400);
    assert.ok(Date.now() - started < 2000, 'the registry call is bounded by the review deadline');
    assert.equal(fail.allowed, false);
    assert.match(fail.status?.message ?? '', /timed out/);
    const ignore = await admit([policy(silentHost, { action: 'Audit', failurePolicy: 'Ignore' })], `${silentHost}/team/app:v1`, access, Date.now() + 400);
    assert.equal(ignore.allowed, true);
  });

  it('reads the registry for ImageValidatingPolicies and denies what they refuse (validate path)', async () => {
    const ivpol = {
      apiVersion: 'policies.kyverno.io/v1',
      kind: 'ImageValidatingPolicy',
      metadata: { name: 'ivpol-signed' },
      spec: {
        validationActions: ['Deny'],
        validationConfigurations: { verifyDigest: false },
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
        matchImageReferences: [{ glob: `${registry.host}/*` }],
        attestors: [{ name: 'cosign', cosign: { key: { data: key.publicKeyPem }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true } } }],
        validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.cosign]) > 0)', message: 'unsigned image' }],
      },
    };
    const validate = async (image: string) => {
      const r = review(image);
      const deadline = Date.now() + 5000;
      const cluster = await new ImageRegistryAccess({ timeoutMs: 2000 }).clusterFor([ivpol], (r.request as JsonObject).object as JsonObject, EMPTY, deadline);
      const answer = answerAdmissionReview(r, 'validate', [ivpol], cluster, deadline);
      return answer.body.response as { allowed: boolean; status?: { message: string } };
    };
    assert.equal((await validate(`${registry.host}/team/app:v1`)).allowed, true);
    const denied = await validate(`${registry.host}/team/unsigned:v1`);
    assert.equal(denied.allowed, false);
    assert.equal(denied.status?.message, 'Policy ivpol-signed failed: unsigned image');
  });

  it('verifies from memory once warm', async () => {
    const access = new ImageRegistryAccess({ timeoutMs: 2000 });
    const policies = [policy(registry.host)];
    await admit(policies, `${registry.host}/team/app:v1`, access);
    const rounds = 200;
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) assert.equal((await admit(policies, `${registry.host}/team/app:v1`, access)).allowed, true);
    const perReviewMs = Number(process.hrtime.bigint() - started) / 1e6 / rounds;
    // Generous for a shared machine; bench:webhook measures it precisely.
    assert.ok(perReviewMs < 5, `${perReviewMs.toFixed(3)} ms per warm review`);
  });
});
