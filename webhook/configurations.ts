/**
 * The webhook configurations that send admission reviews to the webhook, and the names and
 * labels they carry. The in-cluster controller keeps them in step with the policies; deploy
 * creates them. Both read them here, so the webhook never depends on deploy/.
 */
import { DEFAULT_WEBHOOK_TIMEOUT_SECONDS, webhookRules, type RuleNeed } from './rules';
import { celWebhooks } from './cel-webhooks';
import { namespacesFilteredWhole } from './resource-filters';

type Json = Record<string, unknown>;

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kyverno-studio' };
/** MANAGED_BY as a label selector (`key=value`), for lists of our objects. */
export const MANAGED_BY_SELECTOR = Object.entries(MANAGED_BY).map(([k, v]) => `${k}=${v}`).join(',');
export const WEBHOOK_NAME = 'kyverno-studio-webhook';
/**
 * The Service the webhook configurations call: Kyverno's name (config.KyvernoServiceName, the
 * chart's `kyverno-svc`), so tooling that looks for it finds ours. deploy refuses to install
 * next to a real Kyverno (deploy/discovery.ts), whose Service this would be.
 */
export const SERVICE_NAME = 'kyverno-svc';
/** The names the webhook's serving certificate carries in a cluster: the Service's DNS names. */
export function serviceHosts(namespace: string): string[] {
  return [`${SERVICE_NAME}.${namespace}.svc`, `${SERVICE_NAME}.${namespace}.svc.cluster.local`, `${SERVICE_NAME}.${namespace}`];
}
/**
 * The annotations Kyverno's chart puts on its webhook configurations by default (config map
 * `webhookAnnotations`: AKS's admissions enforcer leaves them alone).
 */
export const WEBHOOK_ANNOTATIONS = { 'admissions.enforcer/disabled': 'true' };
/**
 * Kyverno's default namespace selector (the chart's config `webhooks`: kube-system, then its own
 * namespace, one expression each), plus the other namespaces the resource filters exclude whole
 * (kube-public and kube-node-lease by default): Kyverno lets the API server call it there and
 * then answers "allowed" without evaluating (its resource filters); the same answer comes
 * without the call, so the nodes' Lease heartbeats never wait on the webhook. A filter removed
 * from the ConfigMap's `resourceFilters` puts its namespace back.
 */
export function defaultNamespaceSelector(namespace: string, resourceFilters = ''): LabelSelector {
  const others = namespacesFilteredWhole(resourceFilters).filter((n) => n !== 'kube-system' && n !== namespace);
  return {
    matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [namespace] },
      ...(others.length ? [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: others }] : []),
    ],
  };
}
// Type aliases (not interfaces) so that they pass where plain JSON objects are expected.
export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
};
export type MatchCondition = {
  name: string;
  expression: string;
};

/**
 * What Kyverno's ConfigMap says about the webhook configurations it writes (kyverno-config.ts):
 * `webhooks` (the resource webhooks' namespaceSelector and objectSelector, merged into the CEL
 * policies' own), `webhookAnnotations` and `webhookLabels` (on every configuration) and
 * `matchConditions` (on the classic policies' shared webhooks and the ttl webhook).
 */
export interface WebhookSettings {
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  matchConditions: MatchCondition[];
}

/**
 * Without the ConfigMap's keys: our namespace selector (Kyverno's chart default plus our own
 * namespace) and the chart's default annotation; no labels or match conditions.
 */
export function defaultWebhookSettings(namespace: string, resourceFilters = ''): WebhookSettings {
  return { namespaceSelector: defaultNamespaceSelector(namespace, resourceFilters), annotations: { ...WEBHOOK_ANNOTATIONS }, labels: {}, matchConditions: [] };
}

/**
 * Kyverno's configuration and webhook names (pkg/config/config.go), so runbooks, scripts and
 * dashboards that look for them find ours. They would collide with a real Kyverno install:
 * deploy refuses to install the webhook next to one (deploy/discovery.ts), and nothing of
 * ours touches a configuration that lacks our managed-by label.
 */
export const VALIDATING_CONFIG = 'kyverno-resource-validating-webhook-cfg';
export const MUTATING_CONFIG = 'kyverno-resource-mutating-webhook-cfg';
export const VALIDATING_WEBHOOK = 'validate.kyverno.svc';
/** Kyverno's policy validating webhook: policies it would reject are rejected on create/update. */
export const POLICY_VALIDATING_CONFIG = 'kyverno-policy-validating-webhook-cfg';
export const POLICY_VALIDATING_WEBHOOK = 'validate-policy.kyverno.svc';
export const MUTATING_WEBHOOK = 'mutate.kyverno.svc';
/** Kyverno's policy mutating webhook (/policymutate): it answers every policy unchanged. */
export const POLICY_MUTATING_CONFIG = 'kyverno-policy-mutating-webhook-cfg';
export const POLICY_MUTATING_WEBHOOK = 'mutate-policy.kyverno.svc';
/**
 * Kyverno's verify webhook (/verifymutate): an UPDATE of the `kyverno-health` Lease in the
 * webhook's namespace gets its `kyverno.io/last-request-time` annotation set to now.
 */
export const VERIFY_MUTATING_CONFIG = 'kyverno-verify-mutating-webhook-cfg';
export const VERIFY_MUTATING_WEBHOOK = 'monitor-webhooks.kyverno.svc';
/** Kyverno's cleanup controller webhook for the `cleanup.kyverno.io/ttl` label (a warning on unreadable values). */
export const TTL_VALIDATING_CONFIG = 'kyverno-ttl-validating-webhook-cfg';
/** Every configuration a deploy creates and undeploy removes. */
export const ALL_CONFIGS: Array<[string, string]> = [
  ['ValidatingWebhookConfiguration', VALIDATING_CONFIG],
  ['MutatingWebhookConfiguration', MUTATING_CONFIG],
  ['ValidatingWebhookConfiguration', POLICY_VALIDATING_CONFIG],
  ['ValidatingWebhookConfiguration', TTL_VALIDATING_CONFIG],
  ['MutatingWebhookConfiguration', POLICY_MUTATING_CONFIG],
  ['MutatingWebhookConfiguration', VERIFY_MUTATING_CONFIG],
];
/** Kyverno's label on its webhook configurations (api/kyverno LabelWebhookManagedBy). */
export const KYVERNO_WEBHOOK_LABEL = { 'webhook.kyverno.io/managed-by': 'kyverno' };
/** The names of earlier versions; undeploy removes them too. */
export const LEGACY_CONFIGS: Array<[string, string]> = [
  ['ValidatingWebhookConfiguration', 'kyverno-studio-validate'],
  ['MutatingWebhookConfiguration', 'kyverno-studio-mutate'],
];

export function labels(extra: Json = {}): Json {
  return { ...MANAGED_BY, ...extra };
}

/** Ours (deploy wrote it), as opposed to a real Kyverno's object of the same name. */
export function isOurs(obj: Json | undefined): boolean {
  const l = ((obj?.metadata ?? {}) as Json).labels as Json | undefined;
  return l?.['app.kubernetes.io/managed-by'] === MANAGED_BY['app.kubernetes.io/managed-by'];
}

export interface WebhookConfigInput {
  namespace: string;
  caPem: string;
  /** Local mode: the developer's webhook URL; otherwise the in-cluster Service. */
  localUrl?: string;
  /** What the classic policies (ClusterPolicy, Policy) need: `classicWebhookNeeds`. */
  needs: RuleNeed[];
  /** The policies: the CEL kinds get webhooks of their own, as Kyverno lays them out (cel-webhooks.ts). */
  policies?: Json[];
  /** Emit a configuration even without webhooks (cluster mode: the controller patches it later). */
  keepEmpty: boolean;
  /** Kyverno's ConfigMap's webhook keys (default: defaultWebhookSettings of the namespace). */
  settings?: WebhookSettings;
  /** Kyverno's --excludeBootstrapResources: the Fail resource webhooks skip Nodes and CSRs. */
  excludeBootstrapResources?: boolean;
  /**
   * Kyverno's --webhookTimeout: the policy and verify webhooks' timeoutSeconds (the resource
   * webhooks' comes with their needs, `classicWebhookNeeds`); default 10.
   */
  webhookTimeoutSeconds?: number;
}

/**
 * Kyverno's bootstrap exclusion (pkg/controllers/webhook/bootstrap_exclusion.go): Nodes and
 * CertificateSigningRequests are cluster-scoped (no namespaceSelector reaches them) and a node
 * needs them to register, so a Fail webhook on them with no webhook pod running would keep the
 * cluster from coming back. The API server evaluates it, webhook pod or not.
 */
export const BOOTSTRAP_EXCLUSION: MatchCondition = {
  name: 'kyverno-exclude-bootstrap-resources',
  expression: '!(request.resource.group == "" && request.resource.resource == "nodes") && !(request.resource.group == "certificates.k8s.io" && request.resource.resource == "certificatesigningrequests")',
};

/** The exclusion appended to a Fail webhook's conditions (once: names must be unique in a webhook). */
function withBootstrapExclusion(webhook: Json): Json {
  const conditions = (webhook.matchConditions ?? []) as MatchCondition[];
  if (webhook.failurePolicy === 'Ignore' || conditions.some((c) => c.name === BOOTSTRAP_EXCLUSION.name)) return webhook;
  return { ...webhook, matchConditions: [...conditions, { ...BOOTSTRAP_EXCLUSION }] };
}

/**
 * Kyverno's objectMeta for its webhook configurations: the configured labels under its own
 * (ours and Kyverno's managed-by labels always win: they say whose the configuration is), the
 * configured annotations as they are.
 */
function configurationMetadata(name: string, settings: WebhookSettings): Json {
  return { name, labels: { ...settings.labels, ...labels(KYVERNO_WEBHOOK_LABEL) }, annotations: { ...settings.annotations } };
}

/**
 * Kyverno's webhookNameAndPath: `validate.kyverno.svc-fail` on /validate/fail, and for a
 * policy's own webhook `-fail-finegrained-<ns>-<name>` on /validate/fail/finegrained/<ns>/<name>.
 */
/** One of Kyverno's own mutating configurations (policy, verify): one webhook, Ignore, reinvoked if needed. */
function ownMutatingConfiguration(config: string, webhook: string, client: Json, match: Json, settings: WebhookSettings, timeoutSeconds: number): Json {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: configurationMetadata(config, settings),
    webhooks: [{ name: webhook, admissionReviewVersions: ['v1'], clientConfig: client, ...match, failurePolicy: 'Ignore', matchPolicy: 'Equivalent', sideEffects: 'NoneOnDryRun', timeoutSeconds, reinvocationPolicy: 'IfNeeded' }],
  };
}

function classicNameAndPath(need: RuleNeed, webhookName: string, path: string): { name: string; path: string } {
  const fp = need.failurePolicy.toLowerCase();
  const fine = need.fineGrained;
  if (!fine) return { name: `${webhookName}-${fp}`, path: `${path}/${fp}` };
  const key = (sep: string) => (fine.namespace ? `${fine.namespace}${sep}${fine.name}` : fine.name);
  return { name: `${webhookName}-${fp}-finegrained-${key('-')}`, path: `${path}/${fp}/finegrained/${key('/')}` };
}

/** The Validating/MutatingWebhookConfigurations for `needs` (admissionregistration.k8s.io/v1, 1.16+). */
export function webhookConfigurations(input: WebhookConfigInput): Json[] {
  const caBundle = Buffer.from(input.caPem).toString('base64');
  const ns = input.namespace;
  // Paths come with or without their leading slash (`validate/fail`, `/vpol/a`).
  const clientConfig = (path: string): Json =>
    input.localUrl
      ? { url: `${input.localUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`, caBundle }
      : { service: { namespace: ns, name: SERVICE_NAME, path: `/${path.replace(/^\/+/, '')}`, port: 443 }, caBundle };
  const settings = input.settings ?? defaultWebhookSettings(ns);
  // Kyverno's controller gives its own webhooks (policy, verify) --webhookTimeout as it is.
  const ownTimeout = input.webhookTimeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_SECONDS;
  const { namespaceSelector, objectSelector } = settings;
  const cel = celWebhooks({ policies: input.policies ?? [], namespaceSelector, objectSelector, clientConfig });
  // Kyverno's newWebhook: the configured conditions on the shared webhooks; a fine-grained one
  // has its policy's instead.
  const configuredConditions = settings.matchConditions.map((c) => ({ name: c.name, expression: c.expression }));
  const out: Json[] = [];
  for (const [kind, path, name, webhookName, celHooks] of [
    ['ValidatingWebhookConfiguration', 'validate', VALIDATING_CONFIG, VALIDATING_WEBHOOK, cel.validating],
    ['MutatingWebhookConfiguration', 'mutate', MUTATING_CONFIG, MUTATING_WEBHOOK, cel.mutating],
  ] as const) {
    const mine = input.needs.filter((n) => n.path === path && n.rules.length > 0);
    // Kyverno's layout: `validate.kyverno.svc-fail` on /validate/fail serves the classic
    // policies with failurePolicy Fail, `-ignore` on /validate/ignore the others (likewise
    // mutate); the CEL kinds have their own (`vpol.validate.kyverno.svc-fail` on /vpol/<names>…).
    const classic = mine.map((n) => ({
      ...classicNameAndPath(n, webhookName, path),
      admissionReviewVersions: ['v1'],
      rules: webhookRules(n),
      ...(n.fineGrained ? { matchConditions: n.fineGrained.matchConditions.map((c) => ({ name: c.name, expression: c.expression })) } : configuredConditions.length ? { matchConditions: configuredConditions } : {}),
      failurePolicy: n.failurePolicy,
      matchPolicy: 'Equivalent',
      // Kyverno's with admission reports on (its default): reports are written, never on a dry run.
      sideEffects: 'NoneOnDryRun',
      timeoutSeconds: n.timeoutSeconds,
      // 1.20 has no automatic kubernetes.io/metadata.name label: NotIn also matches a
      // namespace without the label, so unlabelled user namespaces stay covered.
      // No selector is the API server's default, the empty one (every namespace, every object).
      namespaceSelector: namespaceSelector ?? {},
      objectSelector: objectSelector ?? {},
      // Kyverno's resource mutating webhooks are called again when a later webhook changed the object.
      ...(kind === 'MutatingWebhookConfiguration' ? { reinvocationPolicy: 'IfNeeded' } : {}),
    })).map(({ path: servicePath, ...w }) => ({ ...w, clientConfig: clientConfig(servicePath) }));
    // Kyverno sorts a configuration's webhooks by name (buildResource*WebhookConfiguration).
    // The CEL kinds' mutating webhooks set no reinvocationPolicy: the API server's default, Never.
    const sorted = ([...classic, ...celHooks.map((w) => (kind === 'MutatingWebhookConfiguration' ? { ...w, reinvocationPolicy: 'Never' } : w))] as Json[])
      .sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0));
    // Kyverno's excludeBootstrapResourcesFrom*Webhooks, after the sort, on every Fail webhook.
    const webhooks = input.excludeBootstrapResources ? sorted.map(withBootstrapExclusion) : sorted;
    if (webhooks.length === 0 && !input.keepEmpty) continue;
    out.push({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind,
      metadata: configurationMetadata(name, settings),
      webhooks,
    });
  }
  // Always present: every ClusterPolicy and Policy is checked as Kyverno checks it.
  out.push({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: configurationMetadata(POLICY_VALIDATING_CONFIG, settings),
    webhooks: [
      {
        name: POLICY_VALIDATING_WEBHOOK,
        admissionReviewVersions: ['v1'],
        clientConfig: clientConfig('policyvalidate'),
        rules: [
          { apiGroups: ['kyverno.io'], apiVersions: ['v1', 'v2beta1'], resources: ['clusterpolicies', 'policies'], operations: ['CREATE', 'UPDATE'], scope: '*' },
          // Kyverno's cleanup controller checks these on its own configuration; one here does the same checks.
          { apiGroups: ['kyverno.io'], apiVersions: ['v2', 'v2beta1'], resources: ['clustercleanuppolicies', 'cleanuppolicies'], operations: ['CREATE', 'UPDATE'], scope: '*' },
          { apiGroups: ['policies.kyverno.io'], apiVersions: ['v1alpha1', 'v1beta1', 'v1'], resources: ['deletingpolicies', 'namespaceddeletingpolicies', 'mutatingpolicies', 'namespacedmutatingpolicies', 'validatingpolicies', 'namespacedvalidatingpolicies', 'imagevalidatingpolicies', 'namespacedimagevalidatingpolicies', 'generatingpolicies', 'namespacedgeneratingpolicies'], operations: ['CREATE', 'UPDATE'], scope: '*' },
          // Kyverno's exception webhooks (pkg/webhooks/exception, celexception) check these; here the same endpoint does.
          { apiGroups: ['kyverno.io'], apiVersions: ['v2', 'v2beta1'], resources: ['policyexceptions'], operations: ['CREATE', 'UPDATE'], scope: '*' },
          { apiGroups: ['policies.kyverno.io'], apiVersions: ['v1alpha1', 'v1beta1'], resources: ['policyexceptions'], operations: ['CREATE', 'UPDATE'], scope: '*' },
          // Kyverno's global context webhook (/globalcontextvalidate, cmd/kyverno) checks these at v2alpha1 (Equivalent: every version).
          { apiGroups: ['kyverno.io'], apiVersions: ['v2alpha1'], resources: ['globalcontextentries'], operations: ['CREATE', 'UPDATE'], scope: '*' },
        ],
        // Kyverno uses Fail here. We deliberately differ: deploy, rollback and undeploy write
        // policies while our webhook may be unreachable (starting, rolled back, being removed),
        // and Fail would block exactly those writes; a reachable webhook still rejects.
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        timeoutSeconds: ownTimeout,
      },
    ],
  });
  // Kyverno's policy mutating webhook: it changes nothing (its handler answers success).
  // Kyverno uses Fail; Ignore here for the reason given for the policy validating webhook.
  out.push(
    ownMutatingConfiguration(POLICY_MUTATING_CONFIG, POLICY_MUTATING_WEBHOOK, clientConfig('policymutate'), {
      rules: [{ apiGroups: ['kyverno.io'], apiVersions: ['v1', 'v2beta1'], resources: ['clusterpolicies', 'policies'], operations: ['CREATE', 'UPDATE'] }],
    }, settings, ownTimeout),
  );
  // Kyverno's verify webhook (buildVerifyMutatingWebhookConfiguration): Lease updates of objects
  // labelled as Kyverno's, Ignore, so it never blocks anything.
  out.push(
    ownMutatingConfiguration(VERIFY_MUTATING_CONFIG, VERIFY_MUTATING_WEBHOOK, clientConfig('verifymutate'), {
      rules: [{ apiGroups: ['coordination.k8s.io'], apiVersions: ['v1'], resources: ['leases'], operations: ['UPDATE'] }],
      objectSelector: { matchLabels: { 'app.kubernetes.io/name': 'kyverno' } },
    }, settings, ownTimeout),
  );
  // Kyverno's ttl webhook (cmd/cleanup-controller): objects carrying the label, any kind, on
  // create and update; it only ever warns, so Ignore costs nothing when we are unreachable.
  out.push({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: configurationMetadata(TTL_VALIDATING_CONFIG, settings),
    webhooks: [
      {
        name: `kyverno-cleanup-controller.${ns}.svc`,
        admissionReviewVersions: ['v1'],
        clientConfig: clientConfig('verifyttl'),
        rules: [{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['CREATE', 'UPDATE'], scope: '*' }],
        objectSelector: { matchExpressions: [{ key: 'cleanup.kyverno.io/ttl', operator: 'Exists' }] },
        // Kyverno's generic webhook controller writes the configured conditions on it.
        ...(configuredConditions.length ? { matchConditions: configuredConditions } : {}),
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        timeoutSeconds: 10,
      },
    ],
  });
  return out;
}
