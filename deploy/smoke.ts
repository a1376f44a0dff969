/**
 * The last step of a deploy: prove the webhook is in the request path. An object some deployed
 * Enforce policy denies (found by evaluating candidates locally with the same engine, the whole
 * deployed set, mutations first as the API server runs them) is sent
 * as a server-side dry-run create; the API server must answer with our denial.
 */
import { randomBytes } from 'node:crypto';
import { answerAdmissionReview } from '../webhook/admission';
import type { ClusterState, JsonObject } from '../engine/core/types';
import { KubeClient, KubeError } from '../kube-api/client';
import { pluralOf } from '../engine/kube/known-kinds';

const EMPTY_CLUSTER: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

const POD_SPECS: JsonObject[] = [
  { containers: [{ name: 'smoke', image: 'busybox' }] },
  {
    hostNetwork: true,
    hostPID: true,
    hostIPC: true,
    containers: [{ name: 'smoke', image: 'busybox:latest', securityContext: { privileged: true, runAsUser: 0, allowPrivilegeEscalation: true } }],
  },
];

function candidates(namespace: string): JsonObject[] {
  const name = `kyverno-studio-smoke-${randomBytes(3).toString('hex')}`;
  const meta = { name, namespace };
  const out: JsonObject[] = [];
  for (const spec of POD_SPECS) {
    out.push({ apiVersion: 'v1', kind: 'Pod', metadata: meta, spec });
    const template = { metadata: { labels: { app: name } }, spec };
    out.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta, spec: { replicas: 1, selector: { matchLabels: { app: name } }, template } });
  }
  out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data: {} });
  out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
  out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return out;
}

export interface SmokeProbe {
  object: JsonObject;
  policy: string;
}

function group(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** A candidate object some Enforce policy in `policies` denies, or undefined. */
export function findSmokeProbe(policies: JsonObject[], namespace = 'default'): SmokeProbe | undefined {
  for (const object of candidates(namespace)) {
    const meta = object.metadata as JsonObject;
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'smoke',
        operation: 'CREATE',
        kind: { group: group(String(object.apiVersion)), version: String(object.apiVersion).split('/').pop(), kind: object.kind },
        resource: { group: group(String(object.apiVersion)), version: String(object.apiVersion).split('/').pop(), resource: pluralOf(group(String(object.apiVersion)), String(object.kind)) },
        namespace: object.kind === 'Namespace' ? undefined : meta.namespace,
        userInfo: { username: 'kyverno-studio-smoke' },
        object,
      },
    };
    let answer;
    try {
      // As the API server does: every mutating webhook first, then validation of the mutated
      // object, so a policy that adds what another requires is not mistaken for a denial.
      const mutated = answerAdmissionReview(review, 'mutate', policies, EMPTY_CLUSTER);
      const last = [...mutated.responses].reverse().find((r) => r.patchedResource && r.patchedResource !== object);
      const request = last ? { ...review.request, object: last.patchedResource } : review.request;
      answer = answerAdmissionReview({ ...review, request }, 'validate', policies, EMPTY_CLUSTER);
    } catch {
      continue;
    }
    const response = (answer.body.response ?? {}) as JsonObject;
    if (response.allowed === false) {
      const denying = answer.responses.find((r) => r.rules.some((x) => x.status === 'fail' && x.failureAction === 'Enforce'));
      return { object, policy: denying?.policy.name ?? '?' };
    }
  }
  return undefined;
}

/**
 * Sends the probe until the API server denies it through our webhook (a new configuration
 * takes effect asynchronously). Throws when it is admitted, or the webhook cannot be called.
 */
export async function runSmokeCheck(client: KubeClient, probe: SmokeProbe, timeoutMs = 30_000, signal?: AbortSignal): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    signal?.throwIfAborted();
    try {
      await client.create(probe.object, { dryRun: true });
      last = `${String(probe.object.kind)} ${String((probe.object.metadata as JsonObject).name)} was admitted, but policy ${probe.policy} must deny it`;
    } catch (e) {
      const msg = (e as Error).message;
      // Any of our resource webhooks: the classic ones, or a CEL kind's (`vpol.validate.kyverno.svc-fail-finegrained-x`…).
      if (e instanceof KubeError && /"(?:[a-z]+\.)?(?:validate|mutate)\.kyverno\.svc-(?:fail|ignore)[a-z0-9.-]*" denied the request/.test(msg) && msg.includes(probe.policy)) return msg;
      last = msg;
    }
    if (Date.now() > deadline) throw new Error(`smoke check failed: ${last}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
