/**
 * Pure planning: from options, policies, certificates and the webhook bundle to the ordered
 * list of objects a deploy applies. No cluster access here; the apply layer (run.ts) decides
 * what exists, dry-runs and applies in this order.
 */
import { POLICY_KINDS } from '../webhook/incluster';
import { kyvernoUserRoles, webhookRbac, type RbacPlan } from './rbac';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { trustBundle, type CertificateSet, type KeyAlgorithm } from '../tls/certificates';
import { tlsSecretNames, tlsSecrets } from '../webhook/cert-renewer';
import { classicWebhookNeeds, webhookNeeds, withFailurePolicyIgnore, type RuleNeed } from '../webhook/rules';
import type { KindTable } from '../engine/kube';
import type { AdmissionPolicyGeneration } from '../webhook/admission-policy-generator';

/** serve's flags for the generation features that differ from its defaults. */
function generationArgs(generation: AdmissionPolicyGeneration | undefined): string[] {
  if (!generation) return [];
  return [...(generation.validating ? [] : ['--generate-validating-admission-policy=false']), ...(generation.mutating ? ['--generate-mutating-admission-policy'] : [])];
}
import { labels, MANAGED_BY, SERVICE_NAME, serviceHosts, WEBHOOK_NAME, webhookConfigurations, type WebhookSettings } from '../webhook/configurations';

export { MANAGED_BY, MUTATING_CONFIG, SERVICE_NAME, VALIDATING_CONFIG, WEBHOOK_NAME } from '../webhook/configurations';

type Json = Record<string, unknown>;

export const CRD_LABEL = 'kyverno-studio.io/installed-crd';
// Node 22 LTS (Node 20 is past end of life).
export const DEFAULT_IMAGE = 'public.ecr.aws/docker/library/node:22-alpine';
export const DEFAULT_NAMESPACE = 'kyverno-studio';
/** Kyverno's metrics port (its --metricsPort default). */
export const METRICS_PORT = 8000;
const CONFIGMAP_LIMIT = 1024 * 1024;

export type DeployMode = 'cluster' | 'local' | 'policies-only';

export type Phase = 'namespace' | 'crds' | 'rbac' | 'tls' | 'code' | 'workload' | 'webhooks' | 'policies';
export const PHASES: Phase[] = ['namespace', 'crds', 'rbac', 'tls', 'code', 'workload', 'webhooks', 'policies'];

export interface PlanInput {
  mode: DeployMode;
  namespace?: string;
  policies: Json[];
  /** CRDs to install (those the cluster lacks), already parsed. */
  crds?: Json[];
  certs?: CertificateSet;
  /**
   * The certificates are in Kyverno's Secrets already, made by someone else (cert-manager, as
   * Kyverno's chart does with certManager.enabled): they are served as they are, not planned.
   */
  externalTlsSecrets?: boolean;
  /** The bundled server (dist/webhook.js) for cluster mode. */
  webhookCode?: Buffer;
  image?: string;
  replicas?: number;
  port?: number;
  hostNetwork?: boolean;
  /** policy/v1 (1.21+) or policy/v1beta1 for the PodDisruptionBudget. */
  pdbApiVersion?: string;
  /**
   * Every policy the webhook will serve and GlobalContextEntry it will read (those installed in
   * the cluster plus `policies`), from which its RBAC is derived (rbac.ts); defaults to `policies`.
   */
  servedPolicies?: Json[];
  /** Also a Prometheus Operator ServiceMonitor for the metrics Service (`deploy --service-monitor`). */
  serviceMonitor?: boolean;
  /** Kyverno's --forceFailurePolicyIgnore: the webhook runs with it and the configurations are planned as it serves them. */
  forceFailurePolicyIgnore?: boolean;
  /** Kyverno's --excludeBootstrapResources: likewise. */
  excludeBootstrapResources?: boolean;
  /** Kyverno's --webhookTimeout (serve --webhook-timeout): likewise (10 s when absent). */
  webhookTimeoutSeconds?: number;
  /** Kyverno's --tlsKeyAlgorithm: the webhook's renewer makes keys of this type (its default, RSA, when absent). */
  tlsKeyAlgorithm?: KeyAlgorithm;
  /** Kyverno's --renewBefore: how long before expiry the webhook's renewer renews (its default, 15 days, when absent). */
  renewBeforeMs?: number;
  /** The webhook's admission policy generation (serve's defaults when absent: validating on, mutating off). */
  admissionPolicyGeneration?: AdmissionPolicyGeneration;
  /** Local mode: https://HOST:PORT the API server can reach the developer's webhook at. */
  localUrl?: string;
  /** Kyverno's ConfigMap's webhook keys (namespaceSelector, annotations...); default: ours. */
  webhookSettings?: WebhookSettings;
  kinds: KindTable;
}

export interface PlannedObject {
  phase: Phase;
  object: Json;
}

export interface Plan {
  mode: DeployMode;
  namespace: string;
  objects: PlannedObject[];
  needs: RuleNeed[];
  /** Human-readable problems that do not stop the deploy (e.g. a kind the cluster lacks). */
  warnings: string[];
  codeSha256?: string;
  /** Cluster mode: the webhook's derived permissions and what could not be derived. */
  rbac?: RbacPlan;
}


// Runs from the Deployment's command line, not from the ConfigMap it checks: whoever can edit
// the code ConfigMap cannot also rewrite the check.
export const BOOTSTRAP = `// Unpacks the webhook bundle, checks it against the pinned sha256, then runs it.
const fs = require('fs'), zlib = require('zlib'), crypto = require('crypto');
const code = zlib.gunzipSync(fs.readFileSync('/code/webhook.js.gz'));
const got = crypto.createHash('sha256').update(code).digest('hex');
if (got !== process.env.KS_CODE_SHA256) {
  console.error('webhook code sha256 ' + got + ' does not match the pinned ' + process.env.KS_CODE_SHA256);
  process.exit(1);
}
fs.writeFileSync('/tmp/webhook.js', code);
require('/tmp/webhook.js');
`;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** DNS names (or the local URL's host) the serving certificate must name. */
export function certificateHosts(mode: DeployMode, ns: string, localUrl?: string): string[] {
  if (mode === 'local') {
    if (!localUrl) throw new Error('local mode needs the URL the cluster calls the webhook at (--url https://HOST:PORT)');
    return [new URL(localUrl).hostname.replace(/^\[|\]$/g, '')];
  }
  return serviceHosts(ns);
}

function workload(input: PlanInput, ns: string, codeSha: string): Json[] {
  const port = input.port ?? 9443;
  const replicas = input.replicas ?? 2;
  const match = { 'app.kubernetes.io/name': WEBHOOK_NAME };
  const metricsPort = METRICS_PORT;
  const probe = (path: string) => ({ httpGet: { path, port, scheme: 'HTTPS' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: WEBHOOK_NAME, namespace: ns, labels: labels(match) },
    spec: {
      replicas,
      selector: { matchLabels: match },
      template: {
        metadata: { labels: labels(match), annotations: { 'kyverno-studio.io/code-sha256': codeSha } },
        spec: {
          serviceAccountName: WEBHOOK_NAME,
          ...(input.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: match } } },
              ],
            },
          },
          containers: [
            {
              name: 'webhook',
              image: input.image ?? DEFAULT_IMAGE,
              command: ['node', '-e', BOOTSTRAP],
              args: ['--in-cluster', '--port', String(port), '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key', '--namespace', ns, '--metrics-port', String(metricsPort), ...(input.tlsKeyAlgorithm ? ['--tls-key-algorithm', input.tlsKeyAlgorithm] : []), ...(input.renewBeforeMs !== undefined ? ['--renew-before', `${input.renewBeforeMs}ms`] : []), ...(input.forceFailurePolicyIgnore ? ['--force-failure-policy-ignore'] : []), ...(input.excludeBootstrapResources ? ['--exclude-bootstrap-resources'] : []), ...(input.webhookTimeoutSeconds !== undefined ? ['--webhook-timeout', String(input.webhookTimeoutSeconds)] : []), ...generationArgs(input.admissionPolicyGeneration)],
              env: [
                { name: 'KS_CODE_SHA256', value: codeSha },
                // The replica's name in the leader-election Leases, as Kyverno's pods set it.
                { name: 'KYVERNO_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                // Per process: the primary and its two server processes each get this heap.
                { name: 'NODE_OPTIONS', value: '--max-old-space-size=192' },
              ],
              ports: [{ name: 'https', containerPort: port, protocol: 'TCP' }, { name: 'metrics', containerPort: metricsPort, protocol: 'TCP' }],
              readinessProbe: probe('/readyz'),
              livenessProbe: { ...probe('/healthz'), initialDelaySeconds: 10 },
              resources: { requests: { cpu: '100m', memory: '320Mi' }, limits: { memory: '768Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'code', mountPath: '/code', readOnly: true },
                { name: 'tls', mountPath: '/tls', readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'code', configMap: { name: `${WEBHOOK_NAME}-code` } },
            // The serving pair, and the CA bundle as ca.crt (what --ca-file publishes); never the CA key.
            {
              name: 'tls',
              projected: {
                sources: [
                  { secret: { name: tlsSecretNames(ns).pair, items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] } },
                  { secret: { name: tlsSecretNames(ns).ca, items: [{ key: 'tls.crt', path: 'ca.crt' }] } },
                ],
              },
            },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE_NAME, namespace: ns, labels: labels() },
    spec: { selector: match, ports: [{ name: 'https', port: 443, targetPort: port, protocol: 'TCP' }] },
  };
  // Kyverno's kyverno-svc-metrics: the metrics port alone, for Prometheus (and a ServiceMonitor).
  const metricsService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${SERVICE_NAME}-metrics`, namespace: ns, labels: labels({ 'app.kubernetes.io/component': 'metrics' }) },
    spec: { selector: match, ports: [{ name: 'metrics', port: metricsPort, targetPort: metricsPort, protocol: 'TCP' }] },
  };
  const monitor = input.serviceMonitor
    ? [{
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: WEBHOOK_NAME, namespace: ns, labels: labels() },
        spec: {
          selector: { matchLabels: { ...MANAGED_BY, 'app.kubernetes.io/component': 'metrics' } },
          namespaceSelector: { matchNames: [ns] },
          endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '25s' }],
        },
      }]
    : [];
  const pdb = {
    apiVersion: input.pdbApiVersion ?? 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: WEBHOOK_NAME, namespace: ns, labels: labels() },
    spec: { minAvailable: 1, selector: { matchLabels: match } },
  };
  return [deployment, service, metricsService, pdb, ...monitor];
}

function withLabels(policy: Json): Json {
  const meta = (policy.metadata ?? {}) as Json;
  const clean: Json = { name: meta.name, labels: { ...((meta.labels ?? {}) as Json), ...MANAGED_BY } };
  if (meta.namespace) clean.namespace = meta.namespace;
  if (meta.annotations) clean.annotations = meta.annotations;
  // Server-side apply rejects server-owned fields (resourceVersion, uid, managedFields...).
  const { status: _status, ...rest } = policy;
  return { ...rest, metadata: clean };
}

/**
 * Whether a planned object is applied with `force`: the deployed policies are the desired
 * state, so fields someone changed with `kubectl apply`/`edit` (another field manager) are
 * taken back rather than reported as a conflict; every other object conflicts unless
 * --force-conflicts is given.
 */
export function takesOverFields(phase: Phase, object: Json): boolean {
  return phase === 'policies' && POLICY_KINDS.some((k) => k.kind === object.kind && [k.apiVersion, ...(k.fallbacks ?? [])].includes(String(object.apiVersion)));
}

/** The whole deploy, in apply order. */
export function planDeploy(input: PlanInput): Plan {
  const ns = input.namespace ?? DEFAULT_NAMESPACE;
  const objects: PlannedObject[] = [];
  const warnings: string[] = [];
  const add = (phase: Phase, object: Json) => objects.push({ phase, object });
  for (const p of input.policies) {
    const meta = (p.metadata ?? {}) as Json;
    if (typeof meta.name !== 'string' || !meta.name) throw new Error(`a ${String(p.kind)} has no metadata.name`);
    if (p.kind === 'Policy' && !meta.namespace) throw new Error(`Policy ${meta.name} has no metadata.namespace (namespaced policies need one)`);
  }
  // The policies as the webhook serves them (the cluster gets them as written).
  const served = input.forceFailurePolicyIgnore ? input.policies.map(withFailurePolicyIgnore) : input.policies;
  const needs = input.mode === 'policies-only' ? [] : webhookNeeds(served, input.kinds, 'webhooks', input.webhookTimeoutSeconds);
  for (const n of needs) for (const k of n.unresolved) warnings.push(`kind ${k} is not served by this cluster; requests for it will not reach the webhook`);

  // Local mode too: the local webhook holds its leader Leases and background queue there.
  if (input.mode !== 'policies-only') add('namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: labels({ 'kubernetes.io/metadata.name': ns }) } });
  for (const crd of input.crds ?? []) {
    const meta = (crd.metadata ?? {}) as Json;
    add('crds', { ...crd, metadata: { name: meta.name, labels: { ...((meta.labels ?? {}) as Json), ...MANAGED_BY, [CRD_LABEL]: 'true' }, annotations: meta.annotations } });
  }
  let codeSha: string | undefined;
  let rbacPlan: RbacPlan | undefined;
  if (input.mode === 'cluster') {
    if (!input.certs) throw new Error('cluster mode needs serving certificates');
    if (!input.webhookCode) throw new Error('cluster mode needs the webhook bundle (dist/webhook.js; run `npm run build`)');
    rbacPlan = webhookRbac(ns, input.servedPolicies ?? input.policies, input.kinds);
    for (const o of rbacPlan.objects) add('rbac', o);
    for (const u of rbacPlan.unknown) warnings.push(u);
    // Installed in Kyverno's stead: people's admin and view roles reach policies and reports as with Kyverno.
    for (const o of kyvernoUserRoles()) add('rbac', o);
    // Kyverno's two Secrets (the CA with its key, the serving pair), which the leader renews.
    if (!input.externalTlsSecrets) for (const secret of tlsSecrets(input.certs, ns, labels())) add('tls', secret);
    codeSha = sha256(input.webhookCode);
    const gz = gzipSync(input.webhookCode, { level: 9 });
    if (gz.length + BOOTSTRAP.length > CONFIGMAP_LIMIT * 0.98) {
      throw new Error(`the webhook bundle is ${(gz.length / 1048576).toFixed(2)} MiB gzipped; a ConfigMap holds at most 1 MiB`);
    }
    add('code', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${WEBHOOK_NAME}-code`, namespace: ns, labels: labels(), annotations: { 'kyverno-studio.io/code-sha256': codeSha } },
      binaryData: { 'webhook.js.gz': gz.toString('base64') },
    });
    for (const o of workload(input, ns, codeSha)) add('workload', o);
  }
  if (input.mode !== 'policies-only') {
    if (!input.certs) throw new Error('the webhook configurations need the CA (certificates)');
    const configs = webhookConfigurations({
      namespace: ns,
      caPem: trustBundle(input.certs),
      localUrl: input.mode === 'local' ? input.localUrl : undefined,
      needs: classicWebhookNeeds(served, input.kinds, input.webhookTimeoutSeconds),
      policies: served,
      keepEmpty: input.mode === 'cluster',
      settings: input.webhookSettings,
      excludeBootstrapResources: input.excludeBootstrapResources,
      webhookTimeoutSeconds: input.webhookTimeoutSeconds,
    });
    for (const o of configs) add('webhooks', o);
  }
  for (const p of input.policies) add('policies', withLabels(p));
  return { mode: input.mode, namespace: ns, objects, needs, warnings, codeSha256: codeSha, rbac: rbacPlan };
}
