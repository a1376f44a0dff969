/**
 * Undeploy: the webhook configurations go first (so nothing calls a webhook that is about to
 * disappear), then the policies and reports we applied, the cluster-wide RBAC, the namespace,
 * and last the CRDs this tool installed, but only those no one else's objects still use.
 */
import { crdIndex } from './crds';
import { asObject } from '../engine/core/json';
import { AGGREGATED_ROLE_NAME, kyvernoUserRoles, liveNamespacedRbac, ROLE_NAME } from './rbac';
import { describeTarget, targetSummary, withServerVersion, type ClusterTarget } from './context';
import { KubeClient, KubeError, describeRef, refOf, type ObjectRef } from '../kube-api/client';
import { CRD_LABEL, DEFAULT_NAMESPACE } from './plan';
import { ALL_CONFIGS, LEGACY_CONFIGS, MANAGED_BY_SELECTOR, isOurs } from '../webhook/configurations';
import { OUR_REPORT_SELECTORS, isOurs as isOurReport } from '../webhook/report-layout';

export interface UndeployUI {
  log(line: string): void;
  step(title: string): void;
  confirm(summary: string, target: ClusterTarget): Promise<boolean>;
}

export interface UndeployRequest {
  client: KubeClient;
  ui: UndeployUI;
  namespace?: string;
  dryRunOnly?: boolean;
  /** How long to wait for the namespace to be gone (it needs the namespace controller). */
  namespaceTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface UndeployResult {
  outcome: 'undeployed' | 'dry-run' | 'cancelled' | 'failed' | 'nothing';
  deleted: ObjectRef[];
  error?: string;
  target?: ClusterTarget;
}

async function present(client: KubeClient, ref: ObjectRef): Promise<boolean> {
  return !!(await client.get(ref).catch((e) => (e instanceof KubeError && e.status === 404 ? undefined : Promise.reject(e))));
}

/** Everything an undeploy would delete, in deletion order. */
export async function undeployPlan(client: KubeClient, ns: string): Promise<{ objects: ObjectRef[]; crds: ObjectRef[] }> {
  const objects: ObjectRef[] = [];
  // Kyverno's names: only when ours (a real Kyverno's configurations carry the same names).
  for (const [kind, name] of [...ALL_CONFIGS, ...LEGACY_CONFIGS]) {
    const ref = { apiVersion: 'admissionregistration.k8s.io/v1', kind, name };
    if (isOurs(await client.get(ref))) objects.push(ref);
  }
  const index = crdIndex();
  for (const e of index) {
    for (const version of e.versions.slice(0, 1)) {
      // Our policy reports carry Kyverno's managed-by label and our written-by label.
      const selectors = e.group === 'wgpolicyk8s.io' ? OUR_REPORT_SELECTORS : [MANAGED_BY_SELECTOR];
      const seen = new Set<string>();
      for (const selector of selectors) {
        const items = await client.list(`${e.group}/${version}`, e.kind, undefined, selector).catch(() => []);
        for (const item of items) {
          const ref = refOf({ ...item, apiVersion: `${e.group}/${version}`, kind: e.kind });
          const key = `${ref.namespace ?? ''}/${ref.name}`;
          if (!seen.has(key)) objects.push(ref);
          seen.add(key);
        }
      }
    }
  }
  for (const item of await liveNamespacedRbac(client)) objects.push(refOf(item));
  for (const roleName of [ROLE_NAME, AGGREGATED_ROLE_NAME]) {
    for (const kind of ['ClusterRoleBinding', 'ClusterRole']) {
      const ref = { apiVersion: 'rbac.authorization.k8s.io/v1', kind, name: roleName };
      if (await present(client, ref)) objects.push(ref);
    }
  }
  // Kyverno's user-facing roles carry Kyverno's names: removed only when our deploy wrote them.
  for (const role of kyvernoUserRoles()) {
    const ref = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: String(asObject(role.metadata).name) };
    if (isOurs(await client.get(ref))) objects.push(ref);
  }
  const nsRef = { apiVersion: 'v1', kind: 'Namespace', name: ns };
  const nsObj = await client.get(nsRef);
  if (nsObj && isOurs(nsObj)) objects.push(nsRef);
  const crds = (await client.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, `${CRD_LABEL}=true`)).map(refOf);
  return { objects, crds };
}

export async function runUndeploy(req: UndeployRequest): Promise<UndeployResult> {
  const { client, ui } = req;
  const ns = req.namespace ?? DEFAULT_NAMESPACE;
  ui.step('Reading the cluster');
  let target = describeTarget(client.config);
  try {
    target = withServerVersion(target, (await client.serverVersion()).gitVersion);
  } catch (e) {
    return { outcome: 'failed', deleted: [], error: `cannot reach context "${target.context}": ${(e as Error).message}` };
  }
  ui.log(targetSummary(target));
  const plan = await undeployPlan(client, ns);
  // A CRD goes only when nothing but our (now deleted) objects used it.
  const crds: ObjectRef[] = [];
  const index = crdIndex();
  for (const crd of plan.crds) {
    const e = index.find((i) => i.name === crd.name);
    if (!e) continue;
    const all = await client.list(`${e.group}/${e.versions[0]}`, e.kind).catch(() => []);
    // Our policy reports carry Kyverno's managed-by label and our written-by label.
    const foreign = all.filter((o) => !isOurs(o) && !isOurReport(o));
    if (foreign.length) ui.log(`keeping CRD ${crd.name}: ${foreign.length} object(s) not deployed by kyverno-studio use it`);
    else crds.push(crd);
  }
  const order = [...plan.objects, ...crds];
  if (order.length === 0) {
    ui.log(`nothing of kyverno-studio found in context "${target.context}"`);
    return { outcome: 'nothing', deleted: [], target };
  }
  const summary = `Undeploy from context "${target.context}":\n${order.map((r) => `  - delete ${describeRef(r)}`).join('\n')}`;
  ui.log(summary);
  if (req.dryRunOnly) return { outcome: 'dry-run', deleted: [], target };
  if (!(await ui.confirm(summary, target))) return { outcome: 'cancelled', deleted: [], target };
  const deleted: ObjectRef[] = [];
  try {
    for (const ref of order) {
      req.signal?.throwIfAborted();
      ui.step(`Deleting ${describeRef(ref)}`);
      if (await client.delete(ref)) deleted.push(ref);
      if (ref.kind === 'Namespace' && !(await client.waitGone(ref, req.namespaceTimeoutMs ?? 120_000, req.signal))) {
        ui.log(`namespace ${ref.name} is still terminating (its finalizers need the namespace controller); continuing`);
      }
      if (ref.kind === 'CustomResourceDefinition' && !(await client.waitGone(ref, 60_000, req.signal))) {
        ui.log(`CRD ${ref.name} is still terminating; continuing`);
      }
    }
  } catch (e) {
    return { outcome: req.signal?.aborted ? 'cancelled' : 'failed', deleted, error: (e as Error).message, target };
  }
  return { outcome: 'undeployed', deleted, target };
}
