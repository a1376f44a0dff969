/**
 * The last step of a deploy: prove the webhook is in the request path. An object the deployed
 * policy set denies is sent as a server-side dry-run create; the API server must answer with
 * our denial. The object is found by the webhook's own evaluation (evaluateReview, mutations
 * first as the API server runs them) of what the webhook will serve: the policies in the
 * cluster with the deployed ones in place of theirs, the cluster's PolicyExceptions and the
 * probe namespace as the cluster has it (its labels for namespaceSelectors).
 */
import { randomBytes } from 'node:crypto';
import { applyPatch, type Operation } from 'fast-json-patch';
import { evaluateReview } from '../webhook/evaluate';
import { PolicyIndex } from '../webhook/prefilter';
import { EXCEPTION_KINDS, POLICY_KINDS } from '../webhook/incluster';
import { namespaceStateOf, withNamespaces } from '../webhook/namespaces';
import { exceptionsInScope } from '../webhook/exception-scope';
import { generatedForApiServer } from '../engine/cel/admission-policy-generation';
import { asObject } from '../engine/core/json';
import type { ClusterState, JsonObject } from '../engine/core/types';
import { KubeClient, KubeError } from '../kube-api/client';
import type { WatchedKind } from '../kube-api/watch';
import { pluralOf } from '../engine/kube/known-kinds';

const EMPTY_CLUSTER: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

/** The namespace the probe objects are made in. */
export const SMOKE_NAMESPACE = 'default';

/** What the webhook serves once the deploy is done, as the probe is evaluated against it. */
export interface ServedSet {
  policies: JsonObject[];
  cluster: ClusterState;
}

/** The objects of `kind` at the first of its versions the API server serves (none when it serves none). */
async function listServed(client: KubeClient, kind: WatchedKind): Promise<JsonObject[]> {
  for (const apiVersion of [kind.apiVersion, ...(kind.fallbacks ?? [])]) {
    if (await client.resourceFor(apiVersion, kind.kind)) return client.list(apiVersion, kind.kind);
  }
  return [];
}

const identity = (o: JsonObject) => {
  const m = asObject(o.metadata);
  return `${String(o.kind)}/${String(m.namespace ?? '')}/${String(m.name ?? '')}`;
};

/**
 * The set the webhook will serve after deploying `deployed`, read from the cluster as the
 * in-cluster webhook reads it (webhook/incluster.ts): every policy kind it watches, a deployed
 * policy replacing the cluster's of the same kind, namespace and name; policies left to the
 * API server (a generated admission policy) out; every PolicyException (deploy sets no
 * --exceptionNamespace); the probe namespace's labels and object.
 */
export async function servedSet(client: KubeClient, deployed: readonly JsonObject[], namespace = SMOKE_NAMESPACE): Promise<ServedSet> {
  const read = async (kinds: WatchedKind[]) => {
    try {
      return (await Promise.all(kinds.map((k) => listServed(client, k)))).flat();
    } catch (e) {
      throw new Error(`smoke check: cannot read the cluster's policies and exceptions: ${(e as Error).message}`);
    }
  };
  const [inCluster, exceptions, ns] = await Promise.all([
    read(POLICY_KINDS),
    read(EXCEPTION_KINDS),
    client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace }).catch((e: Error) => {
      throw new Error(`smoke check: cannot read namespace ${namespace}: ${e.message}`);
    }),
  ]);
  const byIdentity = new Map<string, JsonObject>();
  for (const p of [...inCluster, ...deployed]) byIdentity.set(identity(p), p);
  const policies = [...byIdentity.values()].filter((p) => !!p.spec && !generatedForApiServer(p));
  const cluster = withNamespaces({ ...EMPTY_CLUSTER, exceptions: exceptionsInScope(exceptions, undefined) }, namespaceStateOf(ns ? [ns] : []));
  return { policies, cluster };
}

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

/** The object after the JSON patch a mutating answer carries (as the API server applies it). */
function patched(object: JsonObject, body: string): JsonObject {
  const patch = asObject(asObject(JSON.parse(body) as unknown).response).patch;
  if (typeof patch !== 'string') return object;
  const ops = JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Operation[];
  return applyPatch(structuredClone(object), ops, false, false).newDocument as JsonObject;
}

/**
 * A candidate object the served set denies, or undefined: each is evaluated as the webhook
 * evaluates a review (evaluateReview), the mutating webhooks first and then validation of the
 * mutated object, as the API server calls them, so a policy that adds what another requires is
 * not mistaken for a denial.
 */
export function findSmokeProbe(policies: JsonObject[], cluster: ClusterState = EMPTY_CLUSTER, namespace = SMOKE_NAMESPACE): SmokeProbe | undefined {
  const index = new PolicyIndex(policies);
  for (const object of candidates(namespace)) {
    const meta = object.metadata as JsonObject;
    const reviewOf = (o: JsonObject) => JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'smoke',
        operation: 'CREATE',
        kind: { group: group(String(object.apiVersion)), version: String(object.apiVersion).split('/').pop(), kind: object.kind },
        resource: { group: group(String(object.apiVersion)), version: String(object.apiVersion).split('/').pop(), resource: pluralOf(group(String(object.apiVersion)), String(object.kind)) },
        namespace: object.kind === 'Namespace' ? undefined : meta.namespace,
        userInfo: { username: 'kyverno-studio-smoke' },
        object: o,
      },
    });
    const mutated = evaluateReview({ path: 'mutate', body: reviewOf(object), reports: false }, index, cluster);
    if (mutated.status !== 200 || mutated.allowed === false) continue;
    let admitted: JsonObject;
    try {
      admitted = patched(object, mutated.body);
    } catch {
      continue;
    }
    // With its results (reports), whose enforce flag is the rule's own: a policy's metric mode
    // says enforce when any rule does, even if the rule that failed only audits.
    const answer = evaluateReview({ path: 'validate', body: reviewOf(admitted), reports: true }, index, cluster);
    if (answer.status === 200 && answer.allowed === false) {
      // The result that denied: a failed Enforce rule (a CEL policy's Deny action is one too).
      const denying = answer.reportable.find((r) => r.status === 'fail' && r.enforce);
      // Named as the denial message names it: without a namespaced Policy's namespace.
      return { object, policy: denying?.policy.split('/').pop() ?? '?' };
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
