/**
 * The deploy itself: describe the target → plan → server-side dry run → summary → confirmation
 * naming the context → server-side apply in phase order → wait for the webhook → webhook
 * configurations → policies → smoke check. When a later step fails or the user cancels, the
 * rollback (rollback.ts) deletes what this run created and puts back what it changed. The CLI
 * and the VS Code commands share this code and differ only in their DeployUI.
 */
import { certificateHosts, planDeploy, takesOverFields, VALIDATING_CONFIG, MUTATING_CONFIG, WEBHOOK_NAME, DEFAULT_NAMESPACE, DEFAULT_IMAGE, type DeployMode, type Phase } from './plan';
import { pinImage, registryDigestResolver, type ImageDigestResolver } from './image-pin';
import { certificatesCover, nextCertificates, secretCertificates, type CertificateSet, type KeyAlgorithm } from '../tls/certificates';
import { certificatesOfSecrets, LEGACY_TLS_SECRET, managedByKyverno, tlsSecretNames } from '../webhook/cert-renewer';
import { crdIndex, crdsFor, loadCrd } from './crds';
import { describeTarget, targetSummary, withServerVersion, type ClusterTarget } from './context';
import { detectUpstreamKyverno, kindTable, missingCrds, pdbApiVersion, waitEstablished } from './discovery';
import { dryRun, summaryText, type Change } from './diff';
import { KubeClient, KubeError, conflictText, describeRef, refOf, type ObjectRef } from '../kube-api/client';
import { DeployJournal, rollback } from './rollback';
import { defaultReadiness, type ReadinessCheck } from './ready';
import { findSmokeProbe, runSmokeCheck, servedSet } from './smoke';
import { renderPlan, type RenderResult } from './render';
import { describeRules, liveNamespacedRbac } from './rbac';
import { POLICY_KINDS } from '../webhook/incluster';
import type { AdmissionPolicyGeneration } from '../webhook/admission-policy-generator';
import { isOurs, MANAGED_BY_SELECTOR, type WebhookSettings } from '../webhook/configurations';
import { configurationDefaults, configurationOf, KYVERNO_CONFIG_MAP } from '../webhook/kyverno-config';
import { defaultResourceFilters } from '../webhook/resource-filters';

type Json = Record<string, unknown>;

export interface DeployUI {
  log(line: string): void;
  /** A new phase started (progress notifications). */
  step(title: string): void;
  /** Shows the summary and asks "deploy to CONTEXT?"; false cancels. */
  confirm(summary: string, target: ClusterTarget): Promise<boolean>;
  /** Upstream Kyverno found: deploy only the policies (true) or stop (false). */
  offerPoliciesOnly(reason: string, target: ClusterTarget): Promise<boolean>;
}

export interface DeployRequest {
  client: KubeClient;
  ui: DeployUI;
  mode: DeployMode;
  policies: Json[];
  namespace?: string;
  image?: string;
  replicas?: number;
  port?: number;
  hostNetwork?: boolean;
  /** Cluster mode: the bundled server (dist/webhook.js). */
  webhookCode?: Buffer;
  /** Local mode: where the API server calls the developer's webhook, and its certificates. */
  localUrl?: string;
  certs?: CertificateSet;
  forceConflicts?: boolean;
  /** Also a ServiceMonitor (Prometheus Operator) for the metrics Service. */
  serviceMonitor?: boolean;
  /** Kyverno's --forceFailurePolicyIgnore, for the webhook configurations and the webhook's arguments. */
  forceFailurePolicyIgnore?: boolean;
  /** Kyverno's --excludeBootstrapResources, likewise. */
  excludeBootstrapResources?: boolean;
  /** Kyverno's --webhookTimeout, likewise. */
  webhookTimeoutSeconds?: number;
  /** Kyverno's --tlsKeyAlgorithm: the key type of the certificates deploy and the webhook's renewer make (RSA by default). */
  tlsKeyAlgorithm?: KeyAlgorithm;
  /** Kyverno's --renewBefore: how long before expiry deploy and the webhook's renewer renew (15 days by default). */
  renewBeforeMs?: number;
  /** The webhook's admission policy generation features (serve --generate-*-admission-policy). */
  admissionPolicyGeneration?: AdmissionPolicyGeneration;
  /** Resolves the image's tag to a digest for the Deployment (image-pin.ts; default: ask its registry). */
  imageDigest?: ImageDigestResolver;
  /** Stop after the dry run and summary. */
  dryRunOnly?: boolean;
  /** Write the planned objects as YAML to `dir` instead of applying them (render.ts). */
  render?: { dir: string; secrets?: boolean };
  smokeCheck?: boolean;
  smokeTimeoutMs?: number;
  readiness?: ReadinessCheck;
  signal?: AbortSignal;
}

export type DeployOutcome = 'deployed' | 'dry-run' | 'rendered' | 'cancelled' | 'failed';

export interface DeployResult {
  outcome: DeployOutcome;
  mode: DeployMode;
  target?: ClusterTarget;
  changes: Change[];
  /** Objects this run created (deleted again on failure). */
  created: ObjectRef[];
  /** Objects that existed and this run applied to (put back as they were on failure). */
  updated: ObjectRef[];
  /** What a rollback undid: objects deleted, then objects restored. */
  rolledBack: ObjectRef[];
  /** Objects a rollback restored to their state before this run. */
  restored: ObjectRef[];
  /** Objects a rollback could not put back as they were, one line each naming the object. */
  rollbackFailures: string[];
  error?: string;
  smoke?: string;
  /** `render`: the files written and the objects left out. */
  rendered?: RenderResult;
}

/**
 * The webhook keys of Kyverno's ConfigMap in the namespace (`kyverno`, which the webhook
 * watches): the configurations are written as the webhook's controller will keep them, so a
 * deploy does not undo them. Without the ConfigMap (or unreadable): the defaults.
 */
async function configuredWebhookSettings(client: KubeClient, ns: string, log: (line: string) => void): Promise<WebhookSettings> {
  // A missing ConfigMap is the defaults; one that cannot be read is said, then the defaults too.
  const configMap = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: KYVERNO_CONFIG_MAP }).catch((e: Error) => {
    log(`warning: ConfigMap ${ns}/${KYVERNO_CONFIG_MAP} could not be read (${e.message}): the webhook configurations get the default settings`);
    return undefined;
  });
  return configurationOf(configMap?.data, configurationDefaults({ resourceFilters: defaultResourceFilters(ns), userExclusions: {}, successEvents: false, successEventActions: [] }, ns), (line) => log(`warning: ConfigMap ${ns}/${KYVERNO_CONFIG_MAP}: ${line}`)).webhooks;
}

/**
 * The certificates to deploy: those in Kyverno's two Secrets (or, upgrading from an older
 * version of ours, its single Secret), kept or renewed as the in-cluster renewer would. Secrets
 * someone else made (without Kyverno's managed-by label: cert-manager's) are served as they are.
 */
async function currentCerts(client: KubeClient, ns: string, hosts: string[], algorithm?: KeyAlgorithm, renewBeforeMs?: number): Promise<{ certs: CertificateSet; external: boolean }> {
  const read = (name: string) => client.get({ apiVersion: 'v1', kind: 'Secret', name, namespace: ns }).catch(() => undefined);
  const names = tlsSecretNames(ns);
  const [ca, pair] = [await read(names.ca), await read(names.pair)];
  const current = certificatesOfSecrets(ca, pair);
  if (!managedByKyverno(ca) || !managedByKyverno(pair)) {
    // Someone else's Secret is never overwritten (Kyverno checks each one apart); served only whole.
    if (ca && pair && current?.serving.certPem) return { certs: current, external: true };
    throw new Error(`TLS Secret ${!managedByKyverno(ca) ? names.ca : names.pair} in ${ns} is not managed by Kyverno (no cert.kyverno.io/managed-by: kyverno label) and ${!ca ? names.ca : names.pair} is missing: provide both Secrets, or delete it to let deploy make them`);
  }
  return { certs: nextCertificates(current ?? secretCertificates(await read(LEGACY_TLS_SECRET)), hosts, { algorithm, renewBeforeMs }).set, external: false };
}

/** GlobalContextEntries: the webhook reads what they name (their grants come from rbac.ts too). */
const GLOBAL_CONTEXT_ENTRY_KIND = { apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', fallbacks: ['kyverno.io/v2beta1', 'kyverno.io/v2alpha1'] };

/**
 * The policies the webhook will serve and the GlobalContextEntries it will read: those
 * installed, with the deployed ones replacing their namesakes (so a later deploy keeps the
 * grants of what an earlier one, or kubectl, installed).
 */
async function servedPolicies(client: KubeClient, deployed: Json[]): Promise<Json[]> {
  const key = (p: Json) => { const m = (p.metadata ?? {}) as Json; return `${String(p.kind)}|${String(m.namespace ?? '')}|${String(m.name)}`; };
  const byKey = new Map<string, Json>();
  for (const k of [...POLICY_KINDS, GLOBAL_CONTEXT_ENTRY_KIND]) {
    for (const apiVersion of [k.apiVersion, ...(k.fallbacks ?? [])]) {
      const items = await client.list(apiVersion, k.kind).catch(() => undefined);
      if (!items) continue;
      for (const item of items) byKey.set(key({ ...item, kind: k.kind }), { ...item, apiVersion, kind: k.kind });
      if (items.length) break;
    }
  }
  for (const p of deployed) byKey.set(key(p), p);
  return [...byKey.values()];
}

/** Rules of the planned roles that the live roles do not have yet (one line each). */
async function permissionsLacking(client: KubeClient, planned: Json[]): Promise<string[]> {
  const out: string[] = [];
  const clusterRole = planned.find((o) => o.kind === 'ClusterRole');
  // A first install lacks nothing: it grants everything anew.
  if (!clusterRole || !(await client.get(refOf(clusterRole)).catch(() => undefined))) return out;
  for (const o of planned) {
    if (o.kind !== 'ClusterRole' && o.kind !== 'Role') continue;
    const live = (await client.get(refOf(o)).catch(() => undefined)) ?? { rules: [] };
    const meta = o.metadata as Json;
    const have = new Set(describeRules((live.rules ?? []) as Json[], ''));
    const scope = meta.namespace ? `Role ${String(meta.namespace)}` : 'ClusterRole';
    for (const line of describeRules(o.rules as Json[], '')) if (!have.has(line)) out.push(`${scope}${line}`);
  }
  return out;
}

/** The first certificate of a bundle (ca.crt holds the previous CA too during a rotation). */

/** Kinds the workload phase writes in our namespace, the planned ones and those a flag adds. */
const WORKLOAD_KINDS: Array<[apiVersion: string, kind: string]> = [
  ['v1', 'Service'],
  ['apps/v1', 'Deployment'],
  ['monitoring.coreos.com/v1', 'ServiceMonitor'],
  // An older version's single TLS Secret (kyverno-studio-webhook-tls), now Kyverno's two.
  ['v1', 'Secret'],
];

/**
 * Workload objects of ours (our managed-by label) in the namespace that the plan does not have:
 * written by an earlier version (whose Service was `kyverno-studio-webhook`, now Kyverno's
 * `kyverno-svc`, and whose TLS Secret is now Kyverno's two) or an earlier deploy (a ServiceMonitor since dropped). Objects without our
 * label are never touched.
 */
export async function staleWorkload(client: KubeClient, ns: string, planned: Json[]): Promise<ObjectRef[]> {
  const keep = new Set(planned.map((o) => describeRef(refOf(o))));
  const kinds = new Map(WORKLOAD_KINDS.map(([apiVersion, kind]) => [kind, apiVersion]));
  for (const o of planned) if ((o.metadata as Json | undefined)?.namespace === ns && o.kind === 'PodDisruptionBudget') kinds.set(String(o.kind), String(o.apiVersion));
  const out: ObjectRef[] = [];
  for (const [kind, apiVersion] of kinds) {
    // A kind the cluster does not serve (no Prometheus Operator) has nothing stale.
    const items = await client.list(apiVersion, kind, ns, MANAGED_BY_SELECTOR).catch(() => [] as Json[]);
    for (const item of items) {
      const ref = refOf({ ...item, apiVersion, kind });
      if (!isOurs(item) || keep.has(describeRef(ref))) continue;
      out.push(ref);
    }
  }
  return out;
}

function journalLists(journal: DeployJournal): Pick<DeployResult, 'created' | 'updated'> {
  return { created: journal.created(), updated: journal.updated() };
}

export async function runDeploy(req: DeployRequest): Promise<DeployResult> {
  const { client, ui } = req;
  const ns = req.namespace ?? DEFAULT_NAMESPACE;
  let mode = req.mode;
  const result: DeployResult = { outcome: 'failed', mode, changes: [], created: [], updated: [], rolledBack: [], restored: [], rollbackFailures: [] };
  const fail = (error: string): DeployResult => ({ ...result, mode, outcome: 'failed', error });

  ui.step('Reading the cluster');
  let target = describeTarget(client.config);
  try {
    target = withServerVersion(target, (await client.serverVersion()).gitVersion);
  } catch (e) {
    return fail(`cannot reach context "${target.context}": ${(e as Error).message}`);
  }
  result.target = target;
  ui.log(targetSummary(target));

  if (req.policies.length === 0) return fail('no policies to deploy');
  if (mode !== 'policies-only') {
    const upstream = await detectUpstreamKyverno(client, ns);
    if (upstream) {
      if (!(await ui.offerPoliciesOnly(`${upstream}; a second admission controller would evaluate every request twice.`, target))) {
        return { ...result, outcome: 'cancelled', error: `${upstream}; deploy cancelled` };
      }
      mode = 'policies-only';
      ui.log('Deploying the policies only; the installed Kyverno enforces them.');
    }
  }
  result.mode = mode;

  ui.step('Planning');
  const index = crdIndex();
  const missing = await missingCrds(client, crdsFor(req.policies, index, mode !== 'policies-only'));
  if (mode === 'policies-only' && missing.some((m) => m.group !== 'wgpolicyk8s.io')) {
    return fail(`the cluster lacks the CRDs ${missing.map((m) => m.name).join(', ')}; the installed Kyverno does not serve these policy kinds`);
  }
  const newCrdKinds = new Set(missing.map((m) => `${m.group}|${m.kind}`));
  let certs = req.certs;
  let externalTlsSecrets = false;
  if (mode === 'cluster') {
    // Certificates given by the caller (e.g. the ones a `--render` wrote) are kept when they fit.
    const hosts = certificateHosts('cluster', ns);
    if (!certs || !certificatesCover(certs, hosts, { algorithm: req.tlsKeyAlgorithm, renewBeforeMs: req.renewBeforeMs }) || !certs.ca.keyPem) {
      ({ certs, external: externalTlsSecrets } = await currentCerts(client, ns, hosts, req.tlsKeyAlgorithm, req.renewBeforeMs));
      if (externalTlsSecrets) ui.log(`TLS: ${tlsSecretNames(ns).ca} and ${tlsSecretNames(ns).pair} are not managed by kyverno (cert.kyverno.io/managed-by); the webhook serves them as they are and nothing renews them here`);
    }
  }
  if (mode === 'local' && !certs) return fail('local mode needs the certificates the local webhook serves with');
  if (mode === 'cluster' && req.serviceMonitor && !req.render && !(await client.resourceFor('monitoring.coreos.com/v1', 'ServiceMonitor'))) {
    return fail('--service-monitor: the cluster serves no ServiceMonitor kind (monitoring.coreos.com/v1, installed by the Prometheus Operator); install it or deploy without --service-monitor (the metrics Service is deployed either way)');
  }
  let image = req.image;
  if (mode === 'cluster') {
    try {
      const pinned = await pinImage(req.image ?? DEFAULT_IMAGE, req.imageDigest ?? registryDigestResolver());
      image = pinned.image;
      if (pinned.warning) ui.log(`warning: ${pinned.warning}`);
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  let plan;
  try {
    plan = planDeploy({
      mode,
      namespace: ns,
      policies: req.policies,
      crds: missing.map((m) => loadCrd(m)),
      certs,
      webhookCode: req.webhookCode,
      image,
      replicas: req.replicas,
      port: req.port,
      hostNetwork: req.hostNetwork,
      pdbApiVersion: mode === 'cluster' ? await pdbApiVersion(client) : undefined,
      localUrl: req.localUrl,
      serviceMonitor: req.serviceMonitor,
      forceFailurePolicyIgnore: req.forceFailurePolicyIgnore,
      excludeBootstrapResources: req.excludeBootstrapResources,
      webhookTimeoutSeconds: req.webhookTimeoutSeconds,
      tlsKeyAlgorithm: req.tlsKeyAlgorithm,
      renewBeforeMs: req.renewBeforeMs,
      externalTlsSecrets,
      admissionPolicyGeneration: req.admissionPolicyGeneration,
      servedPolicies: mode === 'cluster' ? await servedPolicies(client, req.policies) : undefined,
      webhookSettings: mode === 'policies-only' ? undefined : await configuredWebhookSettings(client, ns, ui.log),
      kinds: await kindTable(client),
    });
  } catch (e) {
    return fail((e as Error).message);
  }
  for (const w of plan.warnings) ui.log(`warning: ${w}`);
  if (plan.rbac) {
    ui.log('Webhook permissions (derived from the policies it will serve):');
    for (const o of plan.rbac.objects) {
      if (o.kind !== 'ClusterRole' && o.kind !== 'Role') continue;
      const meta = o.metadata as Json;
      for (const line of describeRules(o.rules as Json[], meta.namespace ? `Role ${String(meta.namespace)}` : 'ClusterRole')) ui.log(`  ${line}`);
    }
    const missing = await permissionsLacking(client, plan.rbac.objects);
    for (const m of missing) ui.log(`  the running deployment lacks ${m}; this deploy grants it`);
  }
  if (req.render) {
    // The same planned objects the apply below walks, written instead of applied.
    const rendered = renderPlan(plan, req.render.dir, { secrets: req.render.secrets });
    ui.log(`rendered ${rendered.files.length} manifest(s) to ${req.render.dir}`);
    for (const o of rendered.omitted) ui.log(`  left out: ${o}`);
    return { ...result, outcome: 'rendered', rendered };
  }

  ui.step('Server-side dry run');
  const dry = await dryRun(client, plan, { force: req.forceConflicts, newCrdKinds });
  result.changes = dry.changes;
  if (dry.errors.length) return fail(`the dry run was refused:\n  ${dry.errors.join('\n  ')}`);
  if (dry.conflicts.length && !req.forceConflicts) {
    return fail(`server-side apply conflicts (another tool owns these fields; re-run with --force-conflicts to take them over):\n  ${dry.conflicts.join('\n  ')}`);
  }
  const summary = `Deploy (${mode} mode) to context "${target.context}":\n${summaryText(dry.changes)}`;
  ui.log(summary);
  if (req.dryRunOnly) return { ...result, outcome: 'dry-run' };
  if (!(await ui.confirm(summary, target))) return { ...result, outcome: 'cancelled' };

  const journal = new DeployJournal();
  const phaseTitle: Record<Phase, string> = {
    namespace: 'Namespace', crds: 'Policy CRDs', rbac: 'RBAC', tls: 'TLS certificate', code: 'Webhook code',
    workload: 'Webhook Deployment', webhooks: 'Webhook configurations', policies: 'Policies',
  };
  let phase: Phase | undefined;
  try {
    for (const { phase: p, object } of plan.objects) {
      req.signal?.throwIfAborted();
      if (p !== phase) {
        if (phase === 'crds') await waitEstablished(client, plan.objects.filter((o) => o.phase === 'crds').map((o) => refOf(o.object).name), 60_000, req.signal);
        if (phase === 'workload') {
          ui.step('Waiting for the webhook to be ready');
          await (req.readiness ?? defaultReadiness())(client, ns, WEBHOOK_NAME, req.signal);
        }
        phase = p;
        ui.step(phaseTitle[p]);
      }
      const ref = refOf(object);
      // The live object right before the apply (not the dry run's, which may be minutes old).
      const entry = await journal.before(client, p, ref).catch((e: Error) => {
        throw new Error(`${describeRef(ref)}: cannot read it before changing it: ${e.message}`);
      });
      try {
        await client.apply(object, { force: req.forceConflicts || takesOverFields(p, object) });
      } catch (e) {
        journal.failed(entry, e);
        throw new Error(e instanceof KubeError && e.status === 409 ? conflictText(e) : `${describeRef(ref)}: ${(e as Error).message}`);
      }
      entry.confirmed = true;
      ui.log(`  applied ${describeRef(ref)}`);
    }
    if (phase === 'crds') await waitEstablished(client, plan.objects.filter((o) => o.phase === 'crds').map((o) => refOf(o.object).name), 60_000, req.signal);
    if (plan.rbac) {
      // Narrowing: Roles in namespaces no served policy needs any more go away.
      const keep = new Set(plan.rbac.objects.map((o) => describeRef(refOf(o))));
      for (const stale of await liveNamespacedRbac(client)) {
        const ref = refOf(stale);
        if (keep.has(describeRef(ref))) continue;
        await client.delete(ref);
        ui.log(`  deleted ${describeRef(ref)} (no served policy needs it)`);
      }
    }
    if (mode === 'cluster') {
      for (const ref of await staleWorkload(client, ns, plan.objects.map((o) => o.object))) {
        await client.delete(ref);
        ui.log(`  deleted ${describeRef(ref)} (this deploy no longer creates it)`);
      }
    }
    if (mode !== 'policies-only' && req.smokeCheck !== false) {
      ui.step('Smoke check');
      // The probe is chosen against what the webhook now serves, not the deployed files alone.
      const served = await servedSet(client, req.policies);
      const probe = findSmokeProbe(served.policies, served.cluster);
      if (!probe) ui.log('smoke check skipped: no served policy denies any of the probe objects');
      else {
        result.smoke = await runSmokeCheck(client, probe, req.smokeTimeoutMs, req.signal);
        ui.log(`smoke check passed: a dry-run ${String(probe.object.kind)} was denied by ${probe.policy}`);
      }
    }
  } catch (e) {
    const aborted = req.signal?.aborted;
    const message = aborted ? 'cancelled' : (e as Error).message;
    ui.log(`${aborted ? 'Cancelled' : 'Failed'}: ${message}; rolling back what this run created or changed`);
    ui.step('Rolling back');
    const undone = await rollback(client, journal, (line) => ui.log(line));
    const incomplete = undone.failures.length
      ? `\nThe rollback could not put back ${undone.failures.length} object(s):\n  ${undone.failures.join('\n  ')}`
      : '';
    return {
      ...result, ...journalLists(journal), mode, outcome: aborted ? 'cancelled' : 'failed', error: message + incomplete,
      rolledBack: [...undone.deleted, ...undone.restored], restored: undone.restored, rollbackFailures: undone.failures,
    };
  }
  return { ...result, ...journalLists(journal), mode, outcome: 'deployed' };
}

export { VALIDATING_CONFIG, MUTATING_CONFIG };
