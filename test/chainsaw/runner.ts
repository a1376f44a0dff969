/**
 * Kyverno's chainsaw e2e scenarios, run offline through the webhook's own admission path.
 *
 * A scenario's steps act on an in-memory API server (store.ts). Policies and exceptions go
 * through the policy admission check the webhook serves (evaluatePolicyValidation) and, once
 * admitted, into the policy set, with the status our controller writes (desiredStatus). Every
 * other object gets an AdmissionReview — /mutate, then /validate on the mutated object —
 * answered by evaluateReview, exactly as a server process answers it; admitted objects are
 * stored, and the generate and mutate-existing work the review hands back runs through the
 * webhook's background controller and downstream generator over the store. Scenarios that
 * need what the store cannot give (scripts, commands, real controllers) are `unsupported`,
 * with the reason, never passed or failed for the runner's sake. Nothing here keys on a
 * scenario's name or path.
 */
import { readFileSync, existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { applyPatch, type Operation as PatchOperation } from 'fast-json-patch';
import { parseYamlDocuments, classifyDocument, apiGroup } from '../../engine/loader';
import { asArray, asObject, isJsonObject } from '../../engine/core/json';
import type { ClusterState, JsonObject } from '../../engine/core/types';
import { pluralOf } from '../../engine/kube';
import { evaluatePolicyValidation, evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { defaultResourceFilters, parseResourceFilters } from '../../webhook/resource-filters';
import { desiredPolicyStatus, type AccessCheck } from '../../webhook/policy-status';
import { kyvernoUserRoles } from '../../deploy/rbac';
import { labels } from '../../webhook/configurations';
import { answerAccessQuestions, resourceFromTable, type AccessReviewer } from '../../webhook/access-review';
import { controllerServiceAccount, kyvernoRbacObjects, unrestrictedKyvernoRbac, type ControllerName } from './chart-rbac';
import { crdSchemaOf, findResources, knownKindTable, type KindTable } from '../../engine/kube';
import { webhookConfigurations } from '../../webhook/configurations';
import { classicWebhookNeeds } from '../../webhook/rules';
import { runGeneration } from '../../webhook/generate-work';
import { DownstreamGenerator } from '../../webhook/generate';
import { BackgroundController } from '../../webhook/background';
import { ReportWriter } from '../../webhook/reports';
import { AdmissionPolicyGenerator } from '../../webhook/admission-policy-generator';
import { generatedForApiServer } from '../../engine/cel/admission-policy-generation';
import { EventWriter } from '../../webhook/events';
import { BackgroundScanner } from '../../webhook/scan';
import { crdValidationError, withCrdDefaults } from './crd-defaults';
import { crdIndex, loadCrd } from '../../deploy/crds';
import { KIND_NODE_NAME, kindClusterObjects } from './kind-cluster';
import { labelSelectorMatches } from '../../engine/mutate/targets';
import { forbiddenMessage, rbacAuthorize } from './authorizer';
import type { ContextRead } from '../../webhook/context-reads';
import type { EventInfo } from '../../webhook/event-info';
import { namespaceStateOf, withNamespaces } from '../../webhook/namespaces';
import { isGlobalContextEntry } from '../../engine/context';
import { LiveContext, withLiveContext, type LiveContextState } from '../../webhook/live-context';
import { storeConfigMap, storeReads } from './store';
import { evalCel } from '../../engine/cel/environment';
import { toCel, toCelDocument } from '../../engine/cel/values';
import { matchConstraintsMatch } from '../../engine/cel/match';
import { apiServerValidatingAdmission } from '../../engine/cel/validating-admission-policy';
import { mutateAdmissionRequest } from '../../engine/cel/mutating-admission-policy';
import { readAdmissionReview } from '../../webhook/admission';
import { evaluatePostingApiCalls } from '../../webhook/cluster-reads';
import { policyReadsImages } from '../../webhook/images';
import { assertionMismatch, expressionOf, templateResource, Unsupported, type Bindings } from './assert';
import { KubeError } from '../../kube-api/errors';
import { ObjectStore, StoreClient, mergeObjects, normalizeSecret, refOfObject, serviceAccountAdmission, withBuiltinDefaults } from './store';
import { kubectl, KubectlUnsupported, proxied, type KubectlCluster, type PodSubresource, type WriteOutcome } from './kubectl';
import { DEFAULT_EXEC_TIMEOUT_MS, runWithShim, unsetVariables } from './shell';
import { startApiEndpoint } from './api-http';
import { readDocuments } from '../../cli/io/documents';
import { parseDuration } from '../../engine/units';
import { installValue, kyvernoConfigMapOf, kyvernoInstallFor, serveFlagsOf, type KyvernoInstall } from './install';
import { nextCertificates, parseKeyAlgorithm, type CertificateSet, type KeyAlgorithm } from '../../tls/certificates';
import { tlsSecrets } from '../../webhook/cert-renewer';
import { certificateHosts } from '../../deploy/plan';
import { parseServeArgs } from '../../webhook/serve';
import { configurationDefaults, KyvernoConfigWatcher } from '../../webhook/kyverno-config';
import { configureEngine } from '../../engine/core/configuration';
import { exceptionsInScope } from '../../webhook/exception-scope';
import { parseUserExclusions, type UserExclusions } from '../../webhook/user-filters';
import { withFailurePolicyIgnore } from '../../webhook/rules';
import type { ResourceFilter } from '../../webhook/resource-filters';
import { VirtualClock } from './clock';
import { chainsawTimeouts, timeoutMs, timeoutsOf, type Timeouts } from './timeouts';
import { CleanupController } from '../../webhook/cleanup';
import { isCleanupPolicy, isDeletingPolicy, TTL_LABEL } from '../../engine/cleanup';
import { isControllerUser, nameSuffix, SCHEDULER, WorkloadControllers, type Propagation } from './controllers';

/** `skipped`: Kyverno's own CI does not run it (the test says skip, or the workflow quarantines it). */
export type ScenarioStatus = 'passed' | 'failed' | 'unsupported' | 'skipped';

export interface ScenarioResult {
  /** The scenario's folder, relative to the corpus root. */
  path: string;
  name: string;
  status: ScenarioStatus;
  /** Why it failed or is unsupported: the step, the operation and what differed. */
  reason?: string;
}

/** A step's expectation did not hold: the scenario fails. */
export class StepFailure extends Error {}

/** The namespace Kyverno's webhook runs in (its resource filters skip it). */
const KYVERNO_NAMESPACE = 'kyverno';
/** Without Kyverno's repository around the corpus: no values, so every option keeps our product's default. */
const STANDARD_INSTALL: KyvernoInstall = { testsPath: '', configs: ['standard'], values: {}, quarantined: [] };
/** The user a kind cluster's kubeconfig authenticates as. */
const ADMIN = { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] };
/** The identity Kyverno's background controller writes generated and mutated objects as. */
const BACKGROUND = {
  username: `system:serviceaccount:${KYVERNO_NAMESPACE}:kyverno-background-controller`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${KYVERNO_NAMESPACE}`, 'system:authenticated'],
};
type UserInfo = typeof ADMIN;
/** A service account of Kyverno's install as the API server authenticates it (its name from the chart's values). */
function kyvernoUser(install: KyvernoInstall, controller: ControllerName): UserInfo {
  const account = controllerServiceAccount(install.values, controller);
  return { username: account.username, groups: ['system:serviceaccounts', `system:serviceaccounts:${account.namespace}`, 'system:authenticated'] };
}
/**
 * A subresource request (a Scale through `deployments/scale`, a Pod's exec, eviction...): its
 * kind, the parent object, and what the subresource's registry does once it is admitted (the
 * parent as written, or nothing stored: an exec connects, an eviction deletes).
 */
interface Subresource {
  name: string;
  kind: { group: string; version: string; kind: string };
  parent: JsonObject;
  store: (admitted: JsonObject) => JsonObject | undefined;
}
type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
/** Kyverno's webhooks as the API server names them in a denial. */
const WEBHOOK = { policy: 'validate-policy.kyverno.svc', mutate: 'mutate.kyverno.svc-fail', validate: 'validate.kyverno.svc-fail' };

/**
 * Kyverno's CLI reads the registry for the image data a policy reads (verifyImages rules,
 * ImageValidatingPolicies, imageRegistry entries) whenever it applies one: a call of our CLI
 * naming such a policy among its file arguments needs a registry the offline runner does not
 * reach (our CLI would answer from no image data at all).
 */
function cliRegistryLimit(argv: string[], cwd: string): string | undefined {
  const paths = argv.map((a) => resolve(cwd, a.replace(/^--?[\w-]+=/, ''))).filter((p) => existsSync(p));
  const policies = readDocuments(paths).documents.map((d) => d.value).filter((v): v is JsonObject => isJsonObject(v) && classifyDocument(v) === 'policy');
  const reading = policies.find(policyReadsImages);
  return reading ? `the policy ${String(asObject(reading.metadata).name)} reads image data from a registry, which the offline runner does not reach` : undefined;
}

/**
 * The certificates our deploy makes for an install, per key algorithm: an install makes them
 * once and every scenario of its area runs against it, as on Kyverno's CI (key generation,
 * RSA's above all, is too slow to repeat for each of a thousand scenarios).
 */
const installCertificates = new Map<KeyAlgorithm, CertificateSet>();

/**
 * The TLS Secrets our deploy writes for the install's `admissionController.tlsKeyAlgorithm`
 * (the chart passes it as --tlsKeyAlgorithm), in Kyverno's layout (webhook/cert-renewer.ts).
 * With `certManager.enabled` the chart has cert-manager issue them instead, which is not offline.
 */
function installTlsSecrets(install: KyvernoInstall): JsonObject[] {
  if (installValue(install, 'admissionController.certManager.enabled') === true) {
    throw new Unsupported('the install issues Kyverno\'s TLS Secrets with cert-manager (admissionController.certManager.enabled), which does not run offline; our deploy makes its own certificates');
  }
  const algorithm = parseKeyAlgorithm(String(installValue(install, 'admissionController.tlsKeyAlgorithm') ?? ''));
  let set = installCertificates.get(algorithm);
  if (!set) installCertificates.set(algorithm, (set = nextCertificates(undefined, certificateHosts('cluster', KYVERNO_NAMESPACE), { algorithm }).set));
  return tlsSecrets(set, KYVERNO_NAMESPACE, labels()) as JsonObject[];
}

let updateRequestCrdObject: JsonObject | undefined;

/** Kyverno's UpdateRequest CRD (the copy deploy installs, deploy/crds), read once per run. */
function updateRequestCrd(): JsonObject {
  if (!updateRequestCrdObject) {
    const entry = crdIndex().find((e) => e.group === 'kyverno.io' && e.kind === 'UpdateRequest');
    if (!entry) throw new Error('deploy/crds has no UpdateRequest CRD');
    updateRequestCrdObject = loadCrd(entry) as JsonObject;
  }
  return structuredClone(updateRequestCrdObject);
}

/** A label selector as a Scale's status gives it (`metav1.FormatLabelSelector`: `k=v,k2 in (a,b)`). */
function labelSelectorText(selector: JsonObject): string {
  const terms = Object.entries(asObject(selector.matchLabels)).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of asArray(selector.matchExpressions).map(asObject)) {
    const values = asArray(e.values).map(String).sort().join(',');
    const op = String(e.operator ?? '');
    if (op === 'In') terms.push(`${String(e.key)} in (${values})`);
    else if (op === 'NotIn') terms.push(`${String(e.key)} notin (${values})`);
    else if (op === 'Exists') terms.push(String(e.key));
    else if (op === 'DoesNotExist') terms.push(`!${String(e.key)}`);
  }
  return terms.join(',');
}

/** Chainsaw's `$error` text for a webhook denial: `admission webhook "<name>" denied the request: <message>`. */
function denial(webhook: string, message: string): string {
  return `admission webhook "${webhook}" denied the request: ${message}`;
}

/** The message of a denial, without the webhook's name (ours and Kyverno's may name it apart). */
export function denialMessage(text: string): string {
  return text.trim().replace(/^admission webhook "[^"]*" denied the request:\s*/, '').trim();
}

/** Documents of a YAML text; a load error is the scenario's (unsupported) problem. */
function loadYaml(text: string, file: string): unknown[] {
  const parsed = parseYamlDocuments(text, file);
  if (parsed.errors.length) throw new Unsupported(`${file}: ${parsed.errors[0].message}`);
  return parsed.documents.map((d) => d.value);
}

function readYaml(file: string): unknown[] {
  if (!existsSync(file)) throw new Unsupported(`missing file ${file}`);
  return loadYaml(readFileSync(file, 'utf8'), file);
}

interface Operation {
  kind: string;
  body: JsonObject;
}

/** Workload kinds whose Pods kube-controller-manager creates with a controller controllers.ts does not model. */
const UNMODELLED_WORKLOADS: Array<[string, string]> = [['apps/v1', 'StatefulSet'], ['apps/v1', 'DaemonSet'], ['batch/v1', 'CronJob'], ['v1', 'ReplicationController']];
/** Kinds whose status controllers.ts writes (by group). */
const MODELLED_STATUS_KINDS: Array<[string, string]> = [['apps', 'Deployment'], ['apps', 'ReplicaSet'], ['batch', 'Job'], ['', 'Pod']];
/** Kinds only controllers that do not run offline write (Kyverno's intermediate reports). */
const NOT_OFFLINE_KINDS = new Set(['EphemeralReport', 'ClusterEphemeralReport']);
/**
 * Kinds our reports controller and event writer write: before they are asserted, those
 * controllers catch up (controllersCatchUp), as they would have by then in a cluster.
 */
const CONTROLLER_KINDS = new Set(['PolicyReport', 'ClusterPolicyReport', 'Report', 'ClusterReport', 'Event']);
/** Kinds whose changes a background scan does not look at (what the controllers themselves write). */
const NOT_SCANNED_KINDS = new Set([...CONTROLLER_KINDS, 'Lease']);

/** The engine's words for a call to a service that offline evaluation cannot make. */
const NEEDS_NETWORK = /needs network access, which offline evaluation does not have/;

const OPERATION_KINDS = ['apply', 'create', 'update', 'patch', 'assert', 'error', 'delete', 'sleep', 'wait', 'script', 'command', 'events', 'get', 'describe', 'podLogs', 'proxy'];

/** One scenario run. */
export class Scenario {
  readonly store = new ObjectStore();
  /**
   * The background code's client: its writes reach the store through admission as the
   * background controller's user, as the API server sends them to the webhooks (a generated
   * object can trigger rules that do not skip background requests, be mutated or be refused).
   */
  private readonly client = new StoreClient(
    this.store,
    async (operation, object, oldObject) => {
      const outcome = await this.admit(operation, object, oldObject, BACKGROUND);
      if (outcome.error !== undefined) throw outcome.reason === 'Invalid' ? new KubeError(422, 'Invalid', outcome.error) : new KubeError(400, 'BadRequest', outcome.error);
      return outcome.object;
    },
    { onDelete: (object, propagation) => this.workloads.notePropagation(object, propagation) },
  );
  /** kube-controller-manager's workload controllers, the scheduler and the kubelet (controllers.ts). */
  private readonly workloads: WorkloadControllers;
  private readonly generator: DownstreamGenerator;
  private readonly background: BackgroundController;
  private readonly leading = new AbortController();
  /** Kyverno's reports controller: background scans and the per-resource PolicyReports. */
  private readonly reports: ReportWriter;
  private readonly scanner: BackgroundScanner;
  /** Kyverno's event generator (generateSuccessEvents off, as in Kyverno's default configuration). */
  private readonly events: EventWriter;
  /** Our serve options for the area's install (install.ts serveFlagsOf), as `serve --in-cluster` parses them. */
  private readonly options: ReturnType<typeof parseServeArgs>;
  /** Kyverno's ConfigMap as the webhook's configuration watcher follows it (the install creates it; scenarios patch it). */
  private readonly config: KyvernoConfigWatcher;
  private filters: ResourceFilter[] = [];
  private exclusions: UserExclusions | undefined;
  /** Kyverno's admission policy generator (the admission controller's), with the install's features. */
  private readonly admissionPolicies: AdmissionPolicyGenerator;
  /** A resource changed since the last background scan. */
  private unscanned = true;
  private reviews = 0;
  readonly log: string[] = [];
  /** The scenario's time: `sleep` steps and assert/error timeouts advance it (the cleanup controller runs on it). */
  readonly clock: VirtualClock;
  /** Kyverno's cleanup controller (cleanup and deleting policies, the ttl label), leading from the start. */
  private readonly cleanup: CleanupController;
  /** The operation timeouts in force (chainsaw's configuration, the test's, the step's). */
  timeouts: Timeouts = {};
  /** Whether a policy's evaluation (admission, background work, a cleanup run) needed a service over the network (offline evaluation has none). */
  private neededNetwork = false;
  /** The service accounts of Kyverno's install our controllers act as (chart-rbac.ts). */
  private readonly accounts: Record<'admission' | 'background' | 'cleanup' | 'reports', UserInfo>;

  constructor(
    private readonly dir: string,
    readonly namespace = 'chainsaw-offline',
    /** The Kyverno install Kyverno's CI gives this scenario's area (install.ts); the chart's standard one by default. */
    readonly install: KyvernoInstall = STANDARD_INSTALL,
  ) {
    this.accounts = {
      admission: kyvernoUser(install, 'admission-controller'),
      background: kyvernoUser(install, 'background-controller'),
      cleanup: kyvernoUser(install, 'cleanup-controller'),
      reports: kyvernoUser(install, 'reports-controller'),
    };
    this.clock = new VirtualClock(Date.now(), () => this.clockIdle());
    this.store.now = () => this.clock.now();
    // Kyverno's own Deployments (its namespace) are its install, which our deploy stands for: not run.
    this.workloads = new WorkloadControllers({
      store: this.store,
      clock: this.clock,
      skipNamespace: KYVERNO_NAMESPACE,
      admit: (operation, object, oldObject, user) => this.admit(operation, object, oldObject, user),
      bind: async (pod, binding) => {
        const sub: Subresource = {
          name: 'binding',
          kind: { group: '', version: 'v1', kind: 'Binding' },
          parent: pod,
          store: () => this.store.replace({ ...pod, spec: { ...asObject(pod.spec), nodeName: asObject(binding.target).name } }),
        };
        return (await this.admit('CREATE', binding, null, SCHEDULER, sub)).error;
      },
      log: (line) => this.log.push(line),
    });
    // A scenario may run in one of the namespaces a cluster starts with (`namespace: default`).
    for (const ns of new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', KYVERNO_NAMESPACE, namespace])) {
      this.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } });
    }
    // What the kind node image installs (kind-cluster.ts), then Kyverno's install: its TLS
    // Secrets and its controllers' service accounts and fixed RBAC as the chart renders them
    // with the area's values (chart-rbac.ts). Our product runs with Kyverno's accounts: the
    // policy admission check, the cleanup controller and the reports status ask about them.
    for (const o of kindClusterObjects()) this.store.create(o);
    for (const o of installTlsSecrets(install)) this.store.create(o);
    // Kyverno's install serves its UpdateRequest CRD: our background controller persists its work there.
    this.store.create(updateRequestCrd());
    for (const o of install.chart ? kyvernoRbacObjects(install.chart, install.values) : unrestrictedKyvernoRbac(install.values)) this.store.put(o);
    this.options = parseServeArgs([...serveFlagsOf(install), '--in-cluster', '--namespace', KYVERNO_NAMESPACE, '--tls-cert', 'offline', '--tls-key', 'offline']);
    this.store.create(kyvernoConfigMapOf(install, KYVERNO_NAMESPACE));
    // People's admin and view roles for policies and reports, which our deploy installs as Kyverno's does.
    for (const o of kyvernoUserRoles()) this.store.create(o as JsonObject);
    const log = (line: string) => {
      if (NEEDS_NETWORK.test(line)) this.neededNetwork = true;
      this.log.push(line);
    };
    const kube = this.client.asKubeClient();
    this.events = new EventWriter(kube, log, { omit: this.options.omitEvents });
    // As cluster-mode.ts: the flags are the defaults of the keys the ConfigMap leaves out.
    this.config = new KyvernoConfigWatcher(configurationDefaults({
      resourceFilters: this.options.resourceFilters ?? defaultResourceFilters(KYVERNO_NAMESPACE),
      userExclusions: this.options.userExclusions,
      successEvents: this.options.successEvents,
      successEventActions: [],
    }, KYVERNO_NAMESPACE), log);
    this.config.onChange((c) => {
      // As cluster-mode.ts: the engine reads the ConfigMap's registry and context size keys,
      // and the webhook configurations (made here first) follow its webhook keys.
      configureEngine(c.engine);
      this.syncWebhookConfigurations();
      this.filters = parseResourceFilters(c.resourceFilters);
      // As cluster-mode.ts: the cleanup controller follows the ConfigMap's filters too (it starts after the first read).
      (this.cleanup as CleanupController | undefined)?.setResourceFilters(this.filters);
      this.exclusions = parseUserExclusions(c.userExclusions);
      this.events.setSuccessEvents(c.successEvents, c.successEventActions);
    });
    this.config.watch(storeConfigMap(this.store, KYVERNO_NAMESPACE, this.options.configMap), this.leading.signal);
    this.admissionPolicies = new AdmissionPolicyGenerator({
      client: kube,
      log,
      // The area's install (serveFlagsOf): the chart's defaults, validating on and mutating off, unless it sets them.
      features: this.options.admissionPolicyGeneration,
      kinds: async () => this.kindTable(),
      events: this.events,
      exceptionScope: this.options.exceptionScope,
    });
    // Its watches (policies, exceptions, the generated objects) over the store, as the API server tells them.
    for (const o of this.store.all()) this.admissionPolicies.observe(o);
    this.store.subscribe((e) => this.admissionPolicies.observe(e.object, e.type === 'DELETED'));
    this.admissionPolicies.lead(this.leading.signal);
    // Reports are written when the runner says (controllersCatchUp), never by a timer.
    this.reports = new ReportWriter(kube, log, 3_600_000, { sweepIntervalMs: 0, sweepGraceMs: 0, allowedResults: this.options.allowedResults, openreports: this.options.openreports });
    this.scanner = new BackgroundScanner(kube, (path, body, only) => Promise.resolve(this.scanReview(path, body, only)), (items, rescan) => this.reports.add(items, rescan), log, undefined, this.options.admissionPolicyReports);
    this.store.subscribe((e) => {
      if (!NOT_SCANNED_KINDS.has(String(e.object.kind))) this.unscanned = true;
    });
    this.generator = new DownstreamGenerator({ client: kube, log, triggerWaitMs: 0, attempts: 1, onCreated: (policy, rule, created) => this.background.generated(policy, rule, created) });
    this.background = new BackgroundController({
      client: this.client.asKubeClient(),
      namespace: KYVERNO_NAMESPACE,
      log,
      generator: this.generator,
      // As in a cluster, the controller sees the namespaces' labels (namespaceSelector).
      // and the live context data (GlobalContextEntry data, ConfigMaps) the server process keeps warm.
      current: () => ({ policies: this.policies(), exceptions: this.exceptions(), namespaceLabels: this.cluster().namespaceLabels, live: this.liveState() }),
      // Retries wait on the scenario's clock (its sleeps and assert timeouts), with the product's backoff.
      clock: this.clock,
      events: this.events,
      reports: { add: (items) => this.reports.add(items) },
      watchKind: (apiVersion, kind, rv, onEvent, signal) => this.client.watchKind(apiVersion, kind, rv, onEvent, signal),
      updateRequestThreshold: () => this.config.current().updateRequestThreshold,
    });
    this.background.lead(this.leading.signal);
    this.cleanup = this.startCleanup(log);
    // The leader of the reports Lease: maintenance (prune) and scans, the periodic ones driven
    // by controllersCatchUp instead of a timer.
    void this.reports.start(this.leading.signal);
    void this.scanner.lead(this.leading.signal, 0);
  }

  /**
   * The cleanup controller over the store, on the scenario's clock, with the ttl interval of
   * Kyverno's install, acting as Kyverno's cleanup controller's service account: the API server
   * refuses a delete its RBAC does not allow (the controller then logs it and records
   * Kyverno's PolicyError event, as Kyverno's does).
   */
  private startCleanup(log: (line: string) => void): CleanupController {
    const self = this.accounts.cleanup;
    const interval = parseDuration(String(installValue(this.install, 'features.ttlController.reconciliationInterval') ?? '1m'));
    const client = new StoreClient(
      this.store,
      async (operation, object, oldObject) => {
        if (operation === 'DELETE' && oldObject) this.authorizeDelete(self, oldObject);
        const outcome = await this.admit(operation, object, oldObject, self);
        if (outcome.error !== undefined) throw new KubeError(400, 'BadRequest', outcome.error);
        return outcome.object;
      },
      { discovery: () => this.kindTable(), self: { user: self.username, groups: self.groups }, onDelete: (object, propagation) => this.workloads.notePropagation(object, propagation) },
    );
    const cleanup = new CleanupController({
      client: client.asKubeClient(),
      // The scenario's log notes a run that needed the network (neededNetwork).
      log,
      events: this.events,
      resourceFilters: this.filters,
      ttlIntervalMs: typeof interval === 'number' && interval > 0 ? interval / 1e6 : undefined,
      clock: this.clock,
      ttlClock: this.clock,
      current: () => ({ exceptions: this.exceptions(), live: this.liveState() }),
      // apiCall POSTs go to the store's API server; no service is reachable offline.
      calls: { post: (path, body) => client.request({ method: 'POST', path, body }) },
      // The API server's label-selected watch of each permitted kind, over the store.
      watchLabelled: (kinds, onObjects, signal) => {
        const wanted = new Set(kinds.map((k) => `${apiGroup(k.apiVersion)}|${k.kind}`));
        const watched = (o: JsonObject) => wanted.has(`${apiGroup(String(o.apiVersion ?? ''))}|${String(o.kind)}`);
        const labelled = () => this.store.all().filter((o) => watched(o) && TTL_LABEL in asObject(asObject(o.metadata).labels)).map((o) => structuredClone(o));
        onObjects(labelled());
        const unsubscribe = this.store.subscribe((e) => {
          if (watched(e.object)) onObjects(labelled());
        });
        signal.addEventListener('abort', unsubscribe, { once: true });
      },
    });
    const sync = () => cleanup.setPolicies(this.store.all().filter((o) => isCleanupPolicy(o) || isDeletingPolicy(o)));
    this.store.subscribe((e) => {
      if (isCleanupPolicy(e.object) || isDeletingPolicy(e.object)) sync();
    });
    sync();
    cleanup.lead(this.leading.signal);
    return cleanup;
  }

  /** The API server's RBAC check of a delete by `user`: a refusal is a 403 with its Forbidden message. */
  private authorizeDelete(user: UserInfo, object: JsonObject): void {
    const { apiVersion, kind, name, namespace } = refOfObject(object);
    const group = apiGroup(apiVersion);
    const plural = findResources(this.kindTable(), group, '', kind, '')[0]?.resource ?? pluralOf(group, kind);
    const resource = { verb: 'delete', group, resource: plural, subresource: '', namespace: namespace ?? '', name };
    if (!rbacAuthorize(this.store.all(), { user: user.username, groups: user.groups, resource }).allowed) throw new KubeError(403, 'Forbidden', forbiddenMessage(user.username, resource));
  }

  /** A policy that needed a service over the network: what it would have written, refused or deleted cannot be judged offline. */
  private networkLimit(): Unsupported | undefined {
    return this.neededNetwork ? new Unsupported('a policy calls a service over the network, which the offline runner does not have') : undefined;
  }

  /**
   * The work a fired timer started, done (the clock's drain between timers): the cleanup
   * controller's, the workload controllers' pass, and the background work their admitted
   * writes handed over.
   */
  private async clockIdle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      await this.cleanup.idle();
      await this.workloads.idle();
      await this.background.idle();
      await this.generator.idle();
    }
  }

  async close(): Promise<void> {
    this.workloads.stop();
    this.leading.abort();
    await this.background.close();
    await this.generator.close();
    await this.reports.close();
    await this.events.close();
    // The next scenario's install sets its own.
    configureEngine();
  }

  /** A background scan's review, as a server process answers it (with the resource filters, as Kyverno's ScanResource). */
  private scanReview(path: 'validate' | 'mutate', body: string, only: string[]) {
    const reply = evaluateReview({ path, body, only, events: 'scan', scan: true, filters: this.filters, successEvents: this.config.current().successEvents }, new PolicyIndex(this.policies()), this.cluster());
    if (reply.events) this.events.add(reply.events);
    return reply;
  }

  /**
   * What the reports controller and the event writer have done by the time a scenario looks
   * at their objects in a cluster: a background scan over what changed since the last one
   * (Kyverno's reports controller rescans a changed resource), the pending report results
   * written, reports of deleted resources removed (the garbage collector's work through their
   * ownerReference), the queued events written.
   */
  async controllersCatchUp(): Promise<void> {
    await this.settle();
    if (this.unscanned) {
      this.unscanned = false;
      await this.scanner.rescan();
    }
    await this.reports.flush();
    await this.reports.sweep();
    await this.events.idle();
  }

  /** A review whose policies needed a service over the network (an error they may have ignored). */
  private noteNetwork(reply: ReturnType<typeof evaluateReview>): void {
    if (!this.neededNetwork && NEEDS_NETWORK.test(JSON.stringify([reply.outcomes, reply.events, reply.reportable]))) this.neededNetwork = true;
  }

  /** Admission's events and report results, as the primary receives them from a server process. */
  private recordAdmission(reply: ReturnType<typeof evaluateReview>, stored: JsonObject | undefined): void {
    if (reply.events) this.events.add(reply.events as EventInfo[]);
    if (reply.allowed && !reply.dryRun && reply.subject && reply.reportable.length) {
      const resource = stored ?? reply.subject;
      this.reports.add(reply.reportable.map((r) => ({ ...r, resource, time: Date.now() / 1000 })));
    }
  }

  /**
   * The policies the in-cluster watcher serves (incluster.ts: --force-failure-policy-ignore), not
   * those whose admission was handed to a generated Kubernetes policy.
   */
  policies(): JsonObject[] {
    const served = this.allPolicies().filter((p) => !generatedForApiServer(p));
    return this.options.forceFailurePolicyIgnore ? served.map((p) => withFailurePolicyIgnore(p) as JsonObject) : served;
  }

  private allPolicies(): JsonObject[] {
    return this.store.all().filter((o) => classifyDocument(o) === 'policy');
  }

  /** The CustomResourceDefinitions the scenario stored (their schemas default and validate custom resources). */
  private crds(): JsonObject[] {
    return this.store.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
  }

  /** The admission policy generator's work on the changes its watches saw. */
  private async generateAdmissionPolicies(): Promise<void> {
    await this.admissionPolicies.idle();
  }

  /** The exceptions that apply (--enable-policy-exception, --exception-namespace). */
  exceptions(): JsonObject[] {
    return exceptionsInScope(this.store.all().filter((o) => classifyDocument(o) === 'exception'), this.options.exceptionScope);
  }

  /** The cluster the engine sees: every stored object, namespace labels, the exceptions. */
  cluster(): ClusterState {
    const namespaceLabels: Record<string, Record<string, string>> = {};
    for (const ns of this.store.list('v1', 'Namespace')) {
      namespaceLabels[String(asObject(ns.metadata).name)] = Object.fromEntries(Object.entries(asObject(asObject(ns.metadata).labels)).map(([k, v]) => [k, String(v)]));
    }
    const cluster: ClusterState = { resources: this.store.all(), namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions: this.exceptions(), apiCallsAllowed: true };
    // The namespaces the in-cluster server processes watch (webhook/namespaces.ts).
    return withNamespaces(this.withLiveContext(cluster), namespaceStateOf(this.store.list('v1', 'Namespace')));
  }

  /**
   * The context data the in-cluster server keeps warm (GlobalContextEntry data and projections,
   * the users' role bindings), computed by the webhook's own LiveContext over the store, read
   * as its watches would read the API server. Every object is already in `cluster.resources`.
   */
  private withLiveContext(cluster: ClusterState): ClusterState {
    return withLiveContext(cluster, { ...this.liveState(), resources: [] });
  }

  /** The API server's refusal of a context read by Kyverno's admission controller: the RBAC in the store. */
  private readRefusal(read: ContextRead): string | undefined {
    const user = this.accounts.admission;
    const resource = { verb: read.name ? 'get' : 'list', group: read.group, resource: read.resource, subresource: '', namespace: read.namespace ?? '', name: read.name ?? '' };
    if (rbacAuthorize(this.store.all(), { user: user.username, groups: user.groups, resource }).allowed) return undefined;
    return forbiddenMessage(user.username, resource);
  }

  /** The live context state (webhook/live-context.ts) the server process would hold for the stored policies. */
  liveState(): LiveContextState {
    const live = new LiveContext({ source: storeReads(this.store, (read) => this.readRefusal(read)), onChange: () => undefined, log: (line) => this.log.push(line), debounceMs: 0 });
    try {
      // The cleanup and deleting policies' reads too (the in-cluster webhook watches those for its cleanup controller).
      live.setPolicies([...this.policies(), ...this.store.all().filter(isCleanupPolicy)]);
      return live.state();
    } finally {
      live.close();
    }
  }

  /** Fills in the test namespace of a namespaced object that names none. */
  private defaultNamespace(obj: JsonObject): JsonObject {
    const meta = asObject(obj.metadata);
    if (!this.store.isNamespaced(String(obj.apiVersion), String(obj.kind))) return obj;
    if (typeof meta.namespace === 'string' && meta.namespace) return obj;
    return { ...obj, metadata: { ...meta, namespace: this.namespace } };
  }

  private review(operation: AdmissionOperation, object: JsonObject | null, oldObject: JsonObject | null, userInfo: UserInfo, sub?: Subresource): JsonObject {
    const subject = sub?.parent ?? (object ?? oldObject)!;
    const apiVersion = String(subject.apiVersion ?? '');
    const group = apiGroup(apiVersion);
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    const kind = String(subject.kind ?? '');
    const meta = asObject(subject.metadata);
    const request: JsonObject = {
      uid: `review-${++this.reviews}`,
      kind: { group, version, kind },
      resource: { group, version, resource: pluralOf(group, kind) },
      requestKind: { group, version, kind },
      requestResource: { group, version, resource: pluralOf(group, kind) },
      name: String(meta.name ?? ''),
      operation,
      userInfo,
      object,
      oldObject,
      dryRun: false,
    };
    if (typeof meta.namespace === 'string' && meta.namespace) request.namespace = meta.namespace;
    else if (kind === 'Namespace') request.namespace = String(meta.name ?? '');
    if (sub) {
      // A subresource request: the parent's resource, the subresource's own kind and object (a Scale).
      request.kind = request.requestKind = sub.kind;
      request.subResource = request.requestSubResource = sub.name;
    }
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
  }

  /**
   * An object through admission as the API server sends it: /mutate (not for DELETE), then
   * /validate on the mutated object with the identity the API server gave it; the background
   * work of an admitted request runs before this returns. Returns the denial text or the object as stored.
   */
  async admit(operation: AdmissionOperation, object: JsonObject | null, oldObject: JsonObject | null, user: UserInfo = ADMIN, sub?: Subresource): Promise<{ error?: string; reason?: 'Invalid' | 'Forbidden'; object?: JsonObject; warnings: string[] }> {
    const warnings: string[] = [];
    const warned = (response: JsonObject) => warnings.push(...asArray(response.warnings).map(String));
    // A background write is made while the controller works: the outer step waits for it all.
    const fromBackground = user === BACKGROUND || user === this.accounts.cleanup || isControllerUser(user);
    const index = new PolicyIndex(this.policies());
    let cluster = this.cluster();
    let current = object && withBuiltinDefaults(object);
    // The API server's own mutating admission runs before the webhooks.
    if (!sub && operation === 'CREATE' && current && current.kind === 'Pod' && apiGroup(String(current.apiVersion ?? '')) === '') {
      current = serviceAccountAdmission(current, String(this.reviews + 1).padStart(5, '0').slice(-5));
    }
    if (!sub && operation !== 'DELETE' && current) current = this.admissionPolicyMutation(this.review(operation, current, oldObject, user), cluster);
    // A subresource's object (an Eviction, a Binding) is not stored: no identity of its own.
    const identity = operation === 'CREATE' && !sub ? this.store.reserveIdentity() : undefined;
    if (operation !== 'DELETE' && current) {
      const review = this.review(operation, current, oldObject, user, sub);
      const refused = this.matchConditionRefusal('MutatingWebhookConfiguration', review, cluster);
      if (refused !== undefined) return { error: refused, warnings };
      const body = JSON.stringify(review);
      const reply = await this.evaluate((c) => evaluateReview({ path: 'mutate', body, filters: this.filters, exclusions: this.exclusions, successEvents: this.config.current().successEvents, backgroundUser: BACKGROUND.username, events: 'admission' }, index, c), cluster);
      this.noteNetwork(reply);
      const response = asObject(asObject(JSON.parse(reply.body)).response);
      if (reply.status !== 200) return { error: `mutating webhook answered ${reply.status}: ${reply.body}`, warnings };
      this.recordAdmission(reply, undefined);
      warned(response);
      if (response.allowed !== true) return { error: denial(WEBHOOK.mutate, String(asObject(response.status).message ?? '')), warnings };
      if (typeof response.patch === 'string') {
        const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as PatchOperation[];
        current = applyPatch(structuredClone(current), ops, false, false).newDocument as JsonObject;
      }
      // What the API server fills in before validating admission runs.
      if (!sub || sub.name === 'scale' || sub.name === 'ephemeralcontainers' || sub.name === 'status') {
        const old = asObject(oldObject?.metadata);
        const meta = asObject(current.metadata);
        // The registry's BeforeCreate names an object from its generateName (five random characters).
        const named = operation === 'CREATE' && !meta.name && typeof meta.generateName === 'string' && identity ? { name: `${meta.generateName}${nameSuffix(identity.uid)}` } : {};
        current = { ...current, metadata: { ...meta, ...named, uid: old.uid ?? identity?.uid, creationTimestamp: old.creationTimestamp ?? identity?.creationTimestamp } };
      }
    }
    // The API server validates a custom resource against its CRD's schema (after mutating admission, before validating admission).
    const invalid = current && !sub ? crdValidationError(current, this.crds()) : undefined;
    if (invalid !== undefined) return { error: invalid, reason: 'Invalid', warnings };
    const validateReview = this.review(operation, current, oldObject, user, sub);
    // The API server's ValidatingAdmissionPolicy plugin runs before the validating webhooks.
    const vap = this.validatingAdmissionPolicies(validateReview, cluster);
    warnings.push(...vap.warnings);
    if (vap.denial) return { error: vap.denial.message, reason: vap.denial.reason === 'Forbidden' ? 'Forbidden' : 'Invalid', warnings };
    const refusedValidate = this.matchConditionRefusal('ValidatingWebhookConfiguration', validateReview, cluster);
    if (refusedValidate !== undefined) return { error: refusedValidate, warnings };
    const validateBody = JSON.stringify(validateReview);
    const reply = await this.evaluate((c) => evaluateReview({ path: 'validate', body: validateBody, filters: this.filters, exclusions: this.exclusions, successEvents: this.config.current().successEvents, generate: true, backgroundUser: BACKGROUND.username, events: 'admission' }, index, c), cluster);
    this.noteNetwork(reply);
    const response = asObject(asObject(JSON.parse(reply.body)).response);
    if (reply.status !== 200) return { error: `validating webhook answered ${reply.status}: ${reply.body}`, warnings };
    warned(response);
    if (response.allowed !== true) {
      this.recordAdmission(reply, undefined);
      return { error: denial(WEBHOOK.validate, String(asObject(response.status).message ?? '')), warnings };
    }
    let stored: JsonObject | undefined;
    // The subresource's owner writes the parent (the caller), after admission.
    if (sub) stored = sub.store(current!);
    else if (operation === 'DELETE') this.store.delete(refOfObject(oldObject!));
    else if (operation === 'CREATE') {
      const { uid: _uid, creationTimestamp: _ts, ...meta } = asObject(current!.metadata);
      stored = this.store.create({ ...current!, metadata: meta }, identity);
    } else stored = this.store.replace(current!);
    this.recordAdmission(reply, stored);
    if (reply.generation) {
      // The server process decides the work without the cluster's objects (the downstream
      // generator reads the clone sources it needs), as in a cluster.
      cluster = { ...this.cluster(), resources: [] };
      const request = stored && !sub ? { ...reply.generation.request, object: stored } : reply.generation.request;
      const work = runGeneration({ ...reply.generation, request }, cluster);
      this.log.push(...work.errors);
      if (work.errors.some((e) => NEEDS_NETWORK.test(e))) this.neededNetwork = true;
      this.background.submit(work.items);
    }
    // Controllers react to any change (watches), not only to admitted work: let them finish.
    if (!fromBackground) await this.settle();
    return { object: stored, warnings };
  }

  /**
   * The API server's MutatingAdmissionPolicy plugin, which runs before the mutating webhooks
   * (Kyverno's kind configurations turn the API on): every policy (here in name order, a stable
   * stand-in for the order of the API server's informer, which no scenario relies on), with each of
   * its bindings whose constraints match (the policy's matchConstraints, then the binding's
   * matchResources) patches the object the ones before left, through the engine's evaluation
   * of the policy. Params, a failure under failurePolicy Fail (the API server's refusal text)
   * and reinvocation after the webhooks are not modelled: a scenario reaching them is unsupported.
   */
  private admissionPolicyMutation(review: JsonObject, cluster: ClusterState): JsonObject {
    const { request } = readAdmissionReview(review);
    let object = asObject(request.object);
    const group = 'admissionregistration.k8s.io/v1';
    const bindings = this.store.list(group, 'MutatingAdmissionPolicyBinding');
    const policies = this.store.list(group, 'MutatingAdmissionPolicy').sort((a, b) => String(asObject(a.metadata).name).localeCompare(String(asObject(b.metadata).name)));
    for (const policy of policies) {
      const name = String(asObject(policy.metadata).name ?? '');
      const spec = asObject(policy.spec);
      for (const binding of bindings.filter((b) => asObject(b.spec).policyName === name)) {
        const current = { ...request, object };
        if (!matchConstraintsMatch(spec.matchConstraints, current, cluster)) break;
        const bspec = asObject(binding.spec);
        if (bspec.matchResources && !matchConstraintsMatch(bspec.matchResources, current, cluster, { emptyRulesMatchAll: true })) continue;
        if (bspec.paramRef) throw new Unsupported(`MutatingAdmissionPolicyBinding ${String(asObject(binding.metadata).name)}: the API server's params lookup is not modelled`);
        const outcome = mutateAdmissionRequest(policy, { request: current, cluster }, null);
        if ('object' in outcome) object = outcome.object;
        else if (String(spec.failurePolicy ?? 'Fail') === 'Fail') throw new Unsupported(`MutatingAdmissionPolicy ${name} failed (${outcome.error}): the API server's refusal text is not modelled`);
      }
    }
    return object;
  }

  /** A review evaluated as a server process evaluates it: apiCall POSTs go to the API server (the store) and the review runs again. */
  private evaluate<T>(run: (cluster: ClusterState) => T, cluster: ClusterState): Promise<T> {
    return evaluatePostingApiCalls(cluster, run, (path, body) => this.client.request({ method: 'POST', path, body }));
  }

  /**
   * The API server's enforcement of the stored ValidatingAdmissionPolicies through their
   * bindings (engine/cel's apiServerValidatingAdmission), its refusal worded as the API
   * server's status error: Invalid (`The pods "x" is invalid: : …`) unless the validation
   * names Forbidden.
   */
  private validatingAdmissionPolicies(review: JsonObject, cluster: ClusterState): { denial?: { message: string; reason: string }; warnings: string[] } {
    // The store lists by group, whatever version a policy was written in.
    const stored = (kind: string) => this.store.list('admissionregistration.k8s.io/v1', kind);
    const policies = stored('ValidatingAdmissionPolicy');
    if (policies.length === 0) return { warnings: [] };
    const request = asObject(review.request);
    let read: ReturnType<typeof readAdmissionReview>;
    try {
      read = readAdmissionReview(review);
    } catch {
      return { warnings: [] }; // a review the webhook would refuse to read: no policy evaluates it here either
    }
    const decision = apiServerValidatingAdmission(policies, stored('ValidatingAdmissionPolicyBinding'), { request: read.request, cluster });
    if (!decision.denial) return decision;
    const resource = String(asObject(request.resource).resource ?? '');
    const name = String(request.name ?? '');
    const message = decision.denial.reason === 'Forbidden'
      ? `${resource}${name ? ` ${JSON.stringify(name)}` : ''} is forbidden: ${decision.denial.message}`
      : `The ${resource} ${JSON.stringify(name)} is invalid: : ${decision.denial.message}`;
    return { ...decision, denial: { ...decision.denial, message } };
  }

  /** Refusals the modelled API server itself wrote (not a webhook's): a scenario may expect their exact text. */
  private readonly apiServerRefusals = new Set<string>();

  /**
   * The API server's evaluation of the stored webhooks' matchConditions before it calls them
   * (KEP-3716; Kyverno copies a CEL policy's matchConditions into its fine-grained webhook):
   * a webhook whose rules and selectors match and none of whose conditions is false, but one
   * of which fails to evaluate, refuses the request when its failurePolicy is Fail, with the
   * API server's Forbidden text; with Ignore it is not called (our server then evaluates the
   * same conditions itself and skips the policy). Conditions reading `authorizer` are left to
   * the webhook (no authorizer is modelled here).
   */
  private matchConditionRefusal(configKind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration', review: JsonObject, cluster: ClusterState): string | undefined {
    const request = asObject(review.request);
    const errors: string[] = [];
    for (const config of this.store.list('admissionregistration.k8s.io/v1', configKind)) {
      for (const hook of asArray(config.webhooks).map(asObject)) {
        const conditions = asArray(hook.matchConditions).map(asObject);
        if (conditions.length === 0 || String(hook.failurePolicy ?? 'Fail') !== 'Fail') continue;
        if (conditions.some((c) => /\bauthorizer\b/.test(String(c.expression ?? '')))) continue;
        const constraints = { resourceRules: hook.rules, namespaceSelector: hook.namespaceSelector, objectSelector: hook.objectSelector };
        if (!matchConstraintsMatch(constraints, request as never, cluster)) continue;
        const object = toCelDocument(request.object ?? null);
        const oldObject = toCelDocument(request.oldObject ?? null);
        const vars = { object, oldObject, request: { ...(toCel({ ...request, object: null, oldObject: null }) as Record<string, unknown>), object, oldObject } };
        const failed: string[] = [];
        let skipped = false;
        for (const c of conditions) {
          const expression = String(c.expression ?? '');
          try {
            if (evalCel(expression, vars) === false) skipped = true;
          } catch (e) {
            failed.push(`expression '${expression}' resulted in error: ${(e as Error).message}`);
          }
        }
        if (!skipped) errors.push(...failed);
      }
    }
    if (errors.length === 0) return undefined;
    const resource = asObject(request.resource);
    const qualified = resource.group ? `${String(resource.resource)}.${String(resource.group)}` : String(resource.resource);
    const name = String(request.name ?? '');
    const detail = errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
    const message = name ? `${qualified} ${JSON.stringify(name)} is forbidden: ${detail}` : `${qualified} is forbidden: ${detail}`;
    this.apiServerRefusals.add(message);
    return message;
  }

  /** Waits for the background controller and the generator to finish their work. */
  private async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      await this.background.idle();
      await this.generator.idle();
      await this.admissionPolicies.idle();
    }
    // The cleanup controller's work due now (a policy added or changed is reconciled at once).
    await this.clock.advance(0);
  }

  /**
   * The policy webhooks' permission questions, asked as Kyverno asks them: a synchronizing
   * generate rule's list/get of the admission controller's own account, the rest of the
   * background controller's (`--backgroundServiceAccountName`), a cleanup policy's
   * delete/list of the cleanup controller's (its own webhook).
   */
  private accessReviewer(): AccessReviewer {
    return {
      user: this.accounts.background.username,
      admissionUser: this.accounts.admission.username,
      cleanupUser: this.accounts.cleanup.username,
      post: (path, body) => this.client.request({ method: 'POST', path, body }) as Promise<JsonObject>,
      resourceOf: async (apiVersion, kind) => resourceFromTable(apiVersion, kind, this.kindTable()),
    };
  }

  /** The kinds the API server serves, as discovery gives them: the known ones and the stored CRDs' (deploy's kindTable). */
  private kindTable(): KindTable {
    const table = knownKindTable();
    for (const crd of this.crds()) {
      const spec = asObject(crd.spec);
      const names = asObject(spec.names);
      const versions = asArray(spec.versions).map(asObject);
      const version = String((versions.find((v) => v.storage === true) ?? versions[0])?.name ?? '');
      const kind = String(names.kind ?? '');
      if (!kind || !version) continue;
      const entries = table.get(kind) ?? [];
      const subresources = Object.keys(asObject((versions.find((v) => v.name === version) ?? {}).subresources));
      if (!entries.some((e) => e.group === spec.group)) {
        entries.push({ group: String(spec.group), version, resource: String(names.plural ?? ''), otherVersions: versions.map((v) => String(v.name)).filter((v) => v !== version), namespaced: spec.scope !== 'Cluster', subresources });
      }
      table.set(kind, entries);
    }
    return table;
  }

  /** A policy, exception or global context entry: the policy admission check, then the policy set. */
  private async admitPolicy(doc: JsonObject, create: boolean): Promise<WriteOutcome> {
    const existing = this.store.get(refOfObject(doc));
    if (create && existing) return { error: { reason: 'AlreadyExists', message: `${String(doc.kind)} "${String(asObject(doc.metadata).name)}" already exists` }, warnings: [] };
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `review-${++this.reviews}`, operation: existing ? 'UPDATE' : 'CREATE', object: doc, oldObject: existing ?? null, userInfo: ADMIN } };
    // The webhook asks the API server whether Kyverno's service accounts may do what the
    // policy's mutate targets and generate rules need (webhook/access-review.ts), against the
    // install's fixed RBAC and what the scenario granted.
    const access = await answerAccessQuestions(doc, this.accessReviewer());
    // Target scopes as the API server's discovery gives them (CRDs applied by the scenario included).
    const reply = evaluatePolicyValidation(JSON.stringify(review), {
      isClusterScoped: (apiVersion, kind) => !this.store.isNamespaced(apiVersion, kind),
      // The store's discovery: the well-known kinds and the CRDs it holds.
      findResources: (group, version, kind, subresource) => findResources(this.kindTable(), group, version, kind, subresource),
      // And the stored CRDs' schemas, which the CEL type check of validate.cel reads as the webhook's primary does.
      customResources: this.crds().flatMap((crd) => crdSchemaOf(crd) ?? []),
      access,
    });
    const response = asObject(asObject(JSON.parse(reply.body)).response);
    const warnings = asArray(response.warnings).map(String);
    if (reply.status !== 200) return { error: { message: `policy webhook answered ${reply.status}: ${reply.body}` }, warnings };
    if (response.allowed !== true) return { error: { message: denial(WEBHOOK.policy, String(asObject(response.status).message ?? '')) }, warnings };
    const stored = existing ? this.store.replace(doc) : this.store.create(doc);
    // The status our controller writes for the policy, its permission questions asked about
    // Kyverno's reports controller (its reportsServiceAccountName).
    const status = desiredPolicyStatus(stored, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), this.reportsAccess());
    if (status !== undefined) this.store.replace({ ...stored, status });
    await this.generateAdmissionPolicies();
    this.syncWebhookConfigurations();
    await this.policiesChanged();
    return { warnings, object: this.store.get(refOfObject(doc)) };
  }

  /** The controllers' policy watch: background work, scans of new or changed policies, report pruning. */
  private async policiesChanged(): Promise<void> {
    const policies = this.policies();
    await this.background.onPolicies(policies);
    await this.reports.retainPolicies(policies);
    await this.scanner.onPolicies(policies);
    await this.settle();
  }

  /**
   * The webhook configurations the in-cluster controller keeps in step with the policies
   * (WebhookController.sync: webhookConfigurations over webhookNeeds), as the API server holds them.
   */
  private syncWebhookConfigurations(): void {
    const policies = this.policies();
    const needs = classicWebhookNeeds(policies, this.kindTable());
    for (const config of webhookConfigurations({ namespace: KYVERNO_NAMESPACE, caPem: '', needs, policies, keepEmpty: true, settings: this.config.current().webhooks, excludeBootstrapResources: this.options.excludeBootstrapResources })) this.store.put(config as JsonObject);
  }

  /** What the RBAC in the store allows Kyverno's reports controller (the policy status' RBACPermissionsGranted). */
  private reportsAccess(): AccessCheck {
    const user = this.accounts.reports;
    return (q) => rbacAuthorize(this.store.all(), { user: user.username, groups: user.groups, resource: { verb: q.verb, group: q.group, resource: q.resource, subresource: '', namespace: q.namespace ?? '', name: '' } }).allowed;
  }

  /** apply / create / update / patch of one resource; the error text, if refused. */
  async write(verb: 'apply' | 'create' | 'update' | 'patch', raw: JsonObject): Promise<string | undefined> {
    return (await this.writeAs(verb, raw, ADMIN)).error?.message;
  }

  /** apply / create / update / patch of one resource as `user`: the API server's outcome. */
  async writeAs(verb: 'apply' | 'create' | 'update' | 'patch', raw: JsonObject, user: UserInfo): Promise<WriteOutcome> {
    // The API server converts a Secret's stringData before admission sees it.
    const doc = withCrdDefaults(normalizeSecret(this.defaultNamespace(raw)), this.crds());
    const cls = classifyDocument(doc);
    // GlobalContextEntries go to Kyverno's global context webhook, served with the policy checks.
    // Cleanup policies go to the same webhook (/policyvalidate: Kyverno's cleanup controller webhook).
    if (cls === 'policy' || cls === 'exception' || isGlobalContextEntry(doc) || isCleanupPolicy(doc)) {
      // The API server validates a custom resource against its CRD's schema before validating admission.
      const invalid = crdValidationError(doc, this.crds());
      if (invalid !== undefined) return { error: { reason: 'Invalid', message: invalid }, warnings: [] };
      return this.admitPolicy(doc, verb === 'create');
    }
    const existing = this.store.get(refOfObject(doc));
    const name = String(asObject(doc.metadata).name);
    if (verb === 'create' && existing) return { error: { reason: 'AlreadyExists', message: `${String(doc.kind)} "${name}" already exists` }, warnings: [] };
    if ((verb === 'update' || verb === 'patch') && !existing) return { error: { reason: 'NotFound', message: `${String(doc.kind)} "${name}" not found` }, warnings: [] };
    // The API server refuses an object in a namespace that does not exist.
    const ns = asObject(doc.metadata).namespace;
    if (!existing && typeof ns === 'string' && ns && this.store.isNamespaced(String(doc.apiVersion), String(doc.kind)) && !this.store.hasNamespace(ns)) {
      return { error: { reason: 'NotFound', message: `namespaces "${ns}" not found` }, warnings: [] };
    }
    const outcome = !existing
      ? await this.admit('CREATE', doc, null, user)
      : await this.admit('UPDATE', verb === 'update' ? { ...doc, metadata: { ...asObject(doc.metadata), uid: asObject(existing.metadata).uid, creationTimestamp: asObject(existing.metadata).creationTimestamp, resourceVersion: asObject(existing.metadata).resourceVersion } } : (mergeObjects(existing, doc) as JsonObject), existing, user);
    return { ...(outcome.error !== undefined ? { error: { message: outcome.error, ...(outcome.reason ? { reason: outcome.reason } : {}) } } : {}), warnings: outcome.warnings, object: outcome.object };
  }

  async remove(ref: JsonObject): Promise<string | undefined> {
    return (await this.removeAs(ref, ADMIN)).error?.message;
  }

  /** A deletion as `user`; chainsaw's delete and kubectl's both ask for Background propagation unless told otherwise. */
  async removeAs(ref: JsonObject, user: UserInfo, propagation: Propagation = 'Background'): Promise<WriteOutcome> {
    const doc = this.defaultNamespace(ref);
    const cls = classifyDocument(doc);
    const existing = this.store.get(refOfObject(doc));
    if (!existing) return { warnings: [] }; // chainsaw's delete does not fail on a missing object
    if (cls === 'policy' || cls === 'exception') {
      this.store.delete(refOfObject(doc));
      // The garbage collector: what the policy owned (its generated admission policies) goes with it.
      const uid = asObject(existing.metadata).uid;
      for (const o of this.store.all()) if (asArray(asObject(o.metadata).ownerReferences).some((r) => asObject(r).uid === uid)) this.store.delete(refOfObject(o));
      await this.generateAdmissionPolicies();
      this.syncWebhookConfigurations();
      await this.policiesChanged();
      return { warnings: [] };
    }
    this.workloads.notePropagation(existing, propagation);
    const outcome = await this.admit('DELETE', null, existing, user);
    return { ...(outcome.error !== undefined ? { error: { message: outcome.error, ...(outcome.reason ? { reason: outcome.reason } : {}) } } : {}), warnings: outcome.warnings };
  }

  /** The scale subresource of a stored object set to `replicas`: an UPDATE of its Scale through admission, then the parent's replicas. */
  async scaleAs(parent: JsonObject, replicas: number, user: UserInfo): Promise<WriteOutcome> {
    const meta = asObject(parent.metadata);
    const scaleOf = (n: unknown): JsonObject => ({
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion, creationTimestamp: meta.creationTimestamp },
      spec: { replicas: n },
      status: { replicas: Number(asObject(parent.status).replicas ?? 0), ...(isJsonObject(asObject(parent.spec).selector) ? { selector: labelSelectorText(asObject(asObject(parent.spec).selector)) } : {}) },
    });
    const sub: Subresource = {
      name: 'scale',
      kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      parent,
      store: (admitted) => this.store.replace({ ...parent, spec: { ...asObject(parent.spec), replicas: asObject(admitted.spec).replicas ?? replicas } }),
    };
    const outcome = await this.admit('UPDATE', scaleOf(replicas), scaleOf(asObject(parent.spec).replicas ?? 1), user, sub);
    return { ...(outcome.error !== undefined ? { error: { message: outcome.error, ...(outcome.reason ? { reason: outcome.reason } : {}) } } : {}), warnings: outcome.warnings, object: outcome.object };
  }

  /**
   * A request on a stored Pod's subresource as kube-apiserver sends it to admission (its pod
   * registry, registry/core/pod): `exec` a CONNECT of the PodExecOptions, `ephemeralcontainers`
   * an UPDATE of the Pod with the new ephemeral containers, `eviction` a CREATE of the Eviction,
   * `binding` a CREATE of the Binding; once admitted, what that registry does: an exec stores
   * nothing (the kubelet runs the command), ephemeral containers are all the update keeps, an
   * eviction deletes the Pod (with no admission of its own), a binding sets spec.nodeName.
   */
  async subresourceAs(parent: JsonObject, name: PodSubresource, body: JsonObject, user: UserInfo): Promise<WriteOutcome> {
    const ref = refOfObject(parent);
    const spec = asObject(parent.spec);
    const shapes: Record<PodSubresource, { operation: AdmissionOperation; group: string; kind: string; store: Subresource['store'] }> = {
      exec: { operation: 'CONNECT', group: '', kind: 'PodExecOptions', store: () => undefined },
      ephemeralcontainers: { operation: 'UPDATE', group: '', kind: 'Pod', store: (admitted) => this.store.replace({ ...parent, spec: { ...spec, ephemeralContainers: asObject(admitted.spec).ephemeralContainers } }) },
      eviction: {
        operation: 'CREATE',
        group: 'policy',
        kind: 'Eviction',
        store: () => {
          // The eviction registry checks the Pod's disruption budgets, whose status the disruption controller keeps.
          const labels = asObject(asObject(parent.metadata).labels);
          const budget = this.store.list('policy/v1', 'PodDisruptionBudget', ref.namespace).find((b) => labelSelectorMatches(asObject(asObject(b.spec).selector), labels as Record<string, string>));
          if (budget) throw new Unsupported(`an eviction checks PodDisruptionBudget ${String(asObject(budget.metadata).name)}, whose status the disruption controller (not offline) keeps`);
          this.store.delete(ref);
          return undefined;
        },
      },
      // The PodScheduled condition the binding also sets is status, which is not modelled for Pods.
      binding: { operation: 'CREATE', group: '', kind: 'Binding', store: (admitted) => this.store.replace({ ...parent, spec: { ...spec, nodeName: asObject(admitted.target).name } }) },
    };
    const shape = shapes[name];
    const sub: Subresource = { name, kind: { group: shape.group, version: 'v1', kind: shape.kind }, parent, store: shape.store };
    const outcome = await this.admit(shape.operation, body, shape.operation === 'UPDATE' ? parent : null, user, sub);
    return { ...(outcome.error !== undefined ? { error: { message: outcome.error, ...(outcome.reason ? { reason: outcome.reason } : {}) } } : {}), warnings: outcome.warnings, object: outcome.object };
  }

  /**
   * An update of a stored object's status subresource (a Node's, through `kubectl proxy`): an
   * UPDATE of the object on `<resource>/status` through admission, of which the status
   * strategy keeps the status alone.
   */
  async statusAs(current: JsonObject, updated: JsonObject, user: UserInfo): Promise<WriteOutcome> {
    const apiVersion = String(current.apiVersion ?? '');
    const sub: Subresource = {
      name: 'status',
      kind: { group: apiGroup(apiVersion), version: apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion, kind: String(current.kind ?? '') },
      parent: current,
      store: (admitted) => this.store.replace({ ...current, status: admitted.status }),
    };
    const outcome = await this.admit('UPDATE', updated, current, user, sub);
    return { ...(outcome.error !== undefined ? { error: { message: outcome.error, ...(outcome.reason ? { reason: outcome.reason } : {}) } } : {}), warnings: outcome.warnings, object: outcome.object };
  }

  /** What the offline kubectl of script and command operations acts on (kubectl.ts). */
  kubectlCluster(): KubectlCluster {
    return {
      store: this.store,
      kindTable: () => this.kindTable(),
      write: (verb, doc, user) => this.writeAs(verb, doc, user),
      remove: (doc, user) => this.removeAs(doc, user),
      scale: (doc, replicas, user) => this.scaleAs(doc, replicas, user),
      subresource: (parent, name, body, user) => this.subresourceAs(parent, name, body, user),
      status: (current, updated, user) => this.statusAs(current, updated, user),
      admin: ADMIN,
      kyvernoNamespace: KYVERNO_NAMESPACE,
      kubectlEvict: this.install.kubectlEvict === true,
    };
  }

  /** The stored objects an expected one designates (by kind, namespace, name or labels). */
  candidates(expected: JsonObject, bindings: Bindings): JsonObject[] {
    const resolved = templateResource({ apiVersion: expected.apiVersion, kind: expected.kind, metadata: { name: asObject(expected.metadata).name, namespace: asObject(expected.metadata).namespace } }, bindings) as JsonObject;
    const apiVersion = String(resolved.apiVersion ?? '');
    const kind = String(resolved.kind ?? '');
    if (!apiVersion || !kind) throw new Unsupported('an assertion without apiVersion and kind');
    const meta = asObject(resolved.metadata);
    const namespaced = this.store.isNamespaced(apiVersion, kind);
    const ns = namespaced ? (typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : this.namespace) : undefined;
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    return this.store
      .list(apiVersion, kind, ns)
      .filter((o) => typeof meta.name !== 'string' || expressionOf(meta.name) !== undefined || asObject(o.metadata).name === meta.name)
      // The API server serves every stored object at the version asked for.
      .map((o) => ({ ...o, apiVersion: apiGroup(apiVersion) ? `${apiGroup(apiVersion)}/${version}` : version }));
  }

  /**
   * Why an expected Pod that is not stored may exist in a cluster though the offline runner
   * cannot have it: Kyverno's own Pods (its controllers' Deployments in Kyverno's namespace)
   * are its install's; Pods of the workloads whose controllers are not modelled (controllers.ts)
   * are never created. Undefined when no such source exists where the Pod is expected.
   */
  private podsNotRunOffline(expected: JsonObject, bindings: Bindings): string | undefined {
    if (expected.kind !== 'Pod' || apiGroup(String(expected.apiVersion ?? '')) !== '') return undefined;
    const raw = asObject(expected.metadata).namespace;
    const named = typeof raw === 'string' ? templateResource(raw, bindings) : undefined;
    const namespace = typeof named === 'string' && expressionOf(named) === undefined ? named : raw === undefined ? this.namespace : undefined;
    if (namespace === KYVERNO_NAMESPACE) return `Pods in ${KYVERNO_NAMESPACE} are those of Kyverno's own install (its controllers' Deployments), which does not run offline`;
    // Only a workload that could have made the expected Pod: its Pods' names start with the
    // workload's, and they carry its template's labels.
    const name = asObject(expected.metadata).name;
    const literalName = typeof name === 'string' && expressionOf(name) === undefined ? name : undefined;
    const wantedLabels = Object.entries(asObject(asObject(expected.metadata).labels));
    const literalLabels = Object.fromEntries(wantedLabels.filter(([, v]) => typeof v === 'string' && expressionOf(v) === undefined)) as Record<string, string>;
    const workloads = UNMODELLED_WORKLOADS.flatMap(([apiVersion, kind]) => this.store.list(apiVersion, kind, namespace)).filter((w) => {
      const spec = asObject(w.spec);
      const template = asObject(spec.template ?? asObject(asObject(spec.jobTemplate).spec).template);
      const podLabels = asObject(asObject(template.metadata).labels);
      return (literalName === undefined || literalName.startsWith(String(asObject(w.metadata).name))) && Object.entries(literalLabels).every(([k, v]) => podLabels[k] === v);
    });
    if (workloads.length) {
      const w = workloads[0];
      return `Pods of a ${String(w.kind)} (${String(asObject(w.metadata).name)}) are created by a kube-controller-manager controller the offline runner does not model`;
    }
    return undefined;
  }

  /**
   * Why a stored object lacks the status a controller would write, when that controller is
   * not modelled: Kyverno's own Deployments are its install (not run here), and controllers.ts
   * writes the status of Deployments, ReplicaSets, Jobs and Pods only.
   */
  private statusNotWrittenOffline(o: JsonObject): string | undefined {
    if (classifyDocument(o) === 'policy') return undefined;
    const group = apiGroup(String(o.apiVersion ?? ''));
    const modelled = MODELLED_STATUS_KINDS.some(([g, kind]) => g === group && kind === o.kind);
    if (modelled && asObject(o.metadata).namespace === KYVERNO_NAMESPACE) return `${String(o.kind)} ${String(asObject(o.metadata).name)} in ${KYVERNO_NAMESPACE} is part of Kyverno's own install, which does not run offline (our deploy stands for it)`;
    if (modelled) return undefined;
    return `${String(o.kind)} status is written by a controller that does not run offline`;
  }

  /**
   * An expected Pod the store no longer has because it was deleted within its termination
   * grace period: in a cluster it may still be terminating, its status unchanged, if its
   * container ignores SIGTERM, which the offline runner cannot tell (a deleted Pod is gone at once).
   */
  private terminatingLimit(expected: JsonObject, bindings: Bindings): Unsupported | undefined {
    if (expected.kind !== 'Pod' || apiGroup(String(expected.apiVersion ?? '')) !== '' || this.candidates(expected, bindings).length) return undefined;
    const m = asObject(templateResource(asObject(expected.metadata), bindings));
    const literal = (v: unknown) => typeof v === 'string' && expressionOf(v) === undefined;
    const namespace = literal(m.namespace) ? String(m.namespace) : this.namespace;
    const labels = Object.fromEntries(Object.entries(asObject(m.labels)).filter(([, v]) => literal(v))) as Record<string, string>;
    const pod = this.workloads.recentlyDeletedPod(namespace, literal(m.name) ? String(m.name) : undefined, labels);
    if (pod === undefined) return undefined;
    return new Unsupported(`Pod ${pod} was deleted within its termination grace period: in a cluster it may still be terminating, its status unchanged, if its container ignores SIGTERM, which the offline runner cannot tell (a deleted Pod is gone at once)`);
  }

  /** Null when some stored object matches; otherwise why not. */
  assertOne(expected: JsonObject, bindings: Bindings): string | null {
    if (NOT_OFFLINE_KINDS.has(String(expected.kind))) throw new Unsupported(`${String(expected.kind)} objects are written by controllers that do not run offline`);
    const found = this.candidates(expected, bindings);
    if (found.length === 0) {
      const unrun = this.podsNotRunOffline(expected, bindings);
      if (unrun) throw new Unsupported(unrun);
      return `no ${String(expected.kind)} ${JSON.stringify(asObject(expected.metadata).name ?? '(any)')} found`;
    }
    let first: string | null = null;
    for (const o of found) {
      const m = assertionMismatch(o, expected, bindings);
      if (m === null) return null;
      // The status of a non-policy object is a Kubernetes controller's (Deployment, CRD, Pod...).
      const unwritten = m.startsWith('.status') && o.status === undefined ? this.statusNotWrittenOffline(o) : undefined;
      if (unwritten) throw new Unsupported(unwritten);
      // A Pod the kubelet cannot start offline (controllers.ts cannotStart).
      const pending = m.startsWith('.status') && o.kind === 'Pod' ? this.workloads.pendingReason(String(asObject(o.metadata).namespace ?? ''), String(asObject(o.metadata).name ?? '')) : undefined;
      if (pending) throw new Unsupported(`Pod ${String(asObject(o.metadata).name)} stays Pending offline: ${pending}`);
      first ??= m;
    }
    return `${String(expected.kind)} ${JSON.stringify(asObject(expected.metadata).name ?? '(any)')}: ${first}`;
  }

  // ---- steps --------------------------------------------------------------------------

  private resources(op: JsonObject, bindings: Bindings, base: string): JsonObject[] {
    let docs: unknown[];
    if (op.resource !== undefined) docs = [op.resource];
    else if (typeof op.file === 'string') {
      const file = typeof templateResource(op.file, bindings) === 'string' ? String(templateResource(op.file, bindings)) : op.file;
      if (/[*?[]/.test(file) || /^https?:/.test(file)) throw new Unsupported(`file ${file}: globs and URLs are not read offline`);
      // Chainsaw's loader (pkg/loaders/resource/load.go) turns a document holding an `items`
      // array into its items, whatever its kind (an assertion file may list objects under a
      // bare `apiVersion: v1`).
      docs = readYaml(join(base, file)).flatMap((d) => (isJsonObject(d) && Array.isArray(d.items) ? d.items : [d]));
    } else if (isJsonObject(op.ref)) {
      // A reference names the object with flat fields.
      const ref = op.ref;
      if (ref.name === undefined) throw new Unsupported('a reference without a name (selected by labels)');
      docs = [{ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}) } }];
    }
    else throw new Unsupported(`operation without file or resource`);
    const template = op.template !== false;
    return docs.filter(isJsonObject).map((d) => (template ? (templateResource(d, bindings) as JsonObject) : d));
  }

  /**
   * An unmet expectation the offline runner cannot judge: the server process reads registries
   * before evaluating (webhook/images.ts) and CEL http calls reach services, neither of which
   * exists offline. A refusal under a policy that reads images, or one the engine says needed
   * the network, is unsupported rather than failed.
   */
  private offlineLimit(e: unknown, error: string | undefined): Unsupported | undefined {
    if (!(e instanceof StepFailure) || error === undefined) return undefined;
    if (NEEDS_NETWORK.test(error)) return new Unsupported('a policy calls a service over the network, which the offline runner does not have');
    return this.registryLimit();
  }

  /**
   * An unmet assertion while a policy reads image data: the server process fetches it from the
   * registry before evaluating (webhook/images.ts), so what the policy wrote or refused from
   * that data cannot be judged offline.
   */
  private registryLimit(): Unsupported | undefined {
    return this.policies().some(policyReadsImages) ? new Unsupported('a policy reads image data from a registry, which the offline runner does not reach') : undefined;
  }

  /** Runs an operation's `expect` list on one resource's outcome (chainsaw: no expectation means it must succeed). */
  private checkExpectations(op: JsonObject, resource: JsonObject, error: string | undefined, bindings: Bindings): void {
    const expectations = asArray(op.expect).map(asObject).filter((e) => !isJsonObject(e.match) || assertionMismatch(resource, e.match, bindings) === null);
    if (expectations.length === 0) {
      if (error !== undefined) throw new StepFailure(`${String(resource.kind)} ${String(asObject(resource.metadata).name)} was refused: ${error}`);
      return;
    }
    const scope: Bindings = { ...bindings, error: error ?? null };
    for (const e of expectations) {
      for (const [key, want] of Object.entries(asObject(e.check))) {
        const statement = expressionOf(key);
        if (statement === undefined) throw new Unsupported(`check key ${JSON.stringify(key)}`);
        // `($error): <text>`: the denial's message must be Kyverno's (webhook names aside).
        if (statement.trim() === '$error' && typeof want === 'string') {
          // The API server's own refusals are modelled only for webhook matchConditions
          // (matchConditionRefusal); others (CRD schemas, built-in validation) are not.
          if (!/^\s*admission webhook "/.test(want)) {
            if (error === undefined || !this.apiServerRefusals.has(error)) throw new Unsupported(`an error not from a Kyverno webhook (${want.trim().slice(0, 60)})`);
            if (error !== want.trim()) throw new StepFailure(`refusal differs: got ${JSON.stringify(error)}, expected ${JSON.stringify(want.trim())}`);
            continue;
          }
          if (error === undefined) throw new StepFailure(`${String(resource.kind)} ${String(asObject(resource.metadata).name)} was admitted; expected the error ${JSON.stringify(want)}`);
          if (denialMessage(error) !== denialMessage(want)) throw new StepFailure(`denial message differs: got ${JSON.stringify(denialMessage(error))}, expected ${JSON.stringify(denialMessage(want))}`);
          continue;
        }
        const m = assertionMismatch({}, { [key]: want }, scope);
        if (m !== null) {
          throw new StepFailure(`${String(resource.kind)} ${String(asObject(resource.metadata).name)}: check ${key} does not hold (${error === undefined ? 'admitted' : `refused: ${error}`})`);
        }
      }
    }
  }

  private async operation(op: Operation, bindings: Bindings, base: string): Promise<void> {
    const body = op.body;
    const scope = { ...bindings, ...this.bindingsOf(body.bindings, bindings) };
    switch (op.kind) {
      case 'sleep': {
        // The time passes on the scenario's clock: the controllers' timers due by then fire, and
        // the reports controller and the event writer do what they would have done by then.
        const ns = typeof body.duration === 'string' ? parseDuration(body.duration) : null;
        if (typeof ns !== 'number' || ns < 0) throw new Unsupported(`sleep duration ${JSON.stringify(body.duration)}`);
        await this.clock.advance(ns / 1e6);
        return this.controllersCatchUp();
      }
      case 'wait':
      case 'events':
      case 'get':
      case 'describe':
      case 'podLogs':
        return; // no time passes offline; the rest only print
      case 'script':
      case 'command':
        return this.exec(op.kind, body, scope, base);
      case 'proxy':
        throw new Unsupported(`${op.kind} operation`);
      case 'apply':
      case 'create':
      case 'update':
      case 'patch':
        for (const r of this.resources(body, scope, base)) {
          const error = await this.write(op.kind, r);
          try {
            this.checkExpectations(body, r, error, scope);
          } catch (e) {
            throw this.offlineLimit(e, error) ?? e;
          }
        }
        return;
      case 'delete':
        for (const r of this.resources(body, scope, base)) {
          const error = await this.remove(r);
          this.checkExpectations(body, r, error, scope);
        }
        return;
      case 'assert':
        for (const r of this.resources(body, scope, base)) {
          await this.eventually('assert', body, async () => {
            if (CONTROLLER_KINDS.has(String(r.kind))) await this.controllersCatchUp();
            const m = this.assertOne(r, scope);
            return m === null ? null : () => this.registryLimit() ?? this.networkLimit() ?? this.terminatingLimit(r, scope) ?? new StepFailure(`assert: ${m}`);
          });
        }
        return;
      case 'error':
        for (const r of this.resources(body, scope, base)) {
          await this.eventually('error', body, async () => {
            if (CONTROLLER_KINDS.has(String(r.kind))) await this.controllersCatchUp();
            if (this.assertOne(r, scope) !== null) return null;
            return () => this.registryLimit() ?? this.networkLimit() ?? new StepFailure(`error: ${String(r.kind)} ${JSON.stringify(asObject(r.metadata).name ?? '(any)')} exists and matches`);
          });
        }
        return;
    }
  }

  /**
   * Chainsaw retries an assert or error until it holds or its timeout passes. Offline only the
   * scenario's clock makes things change between tries (the cleanup controller's schedules and
   * ttl deletions): while the check fails it runs to the next timer within the timeout and
   * checks again. `check` answers null when it holds, else the failure to throw.
   */
  private async eventually(kind: 'assert' | 'error', body: JsonObject, check: () => Promise<(() => Error) | null>): Promise<void> {
    const deadline = this.clock.now() + timeoutMs(kind, body.timeout, this.timeouts);
    for (;;) {
      const failure = await check();
      if (failure === null) return;
      const next = this.clock.nextDue();
      if (next === undefined || next > deadline) throw failure();
      await this.clock.advance(next - this.clock.now());
    }
  }

  /**
   * A script or command run for real (shell.ts), its kubectl answered from the store
   * (kubectl.ts). What it needed that is not offline makes it unsupported, whatever its exit
   * code; otherwise chainsaw's rule: with a `check`, the check decides (over `$stdout`,
   * `$stderr`, `$error`), else a non-zero exit fails the step.
   */
  private async exec(kind: 'script' | 'command', body: JsonObject, bindings: Bindings, base: string): Promise<void> {
    if (kind === 'script' && typeof body.content !== 'string') throw new Unsupported('a script without content');
    if (kind === 'command' && typeof body.entrypoint !== 'string') throw new Unsupported('a command without entrypoint');
    if (body.outputs !== undefined) throw new Unsupported(`${kind} outputs`);
    const env: Record<string, string> = {};
    for (const e of asArray(body.env).map(asObject)) {
      const value = templateResource(e.value, bindings);
      if (typeof e.name !== 'string' || typeof value !== 'string') throw new StepFailure(`value must be a string (${String(e.name)})`);
      env[e.name] = value;
    }
    env.NAMESPACE = this.namespace;
    const timeout = typeof body.timeout === 'string' ? parseDuration(body.timeout) : undefined;
    const timeoutMs = typeof timeout === 'number' && timeout > 0 ? timeout / 1e6 : DEFAULT_EXEC_TIMEOUT_MS;
    // The reports controller and the event writer keep working while a step's earlier operations
    // settle; a script reading their objects sees what they wrote by then.
    await this.controllersCatchUp();
    if (kind === 'script') {
      const unset = unsetVariables(String(body.content), { ...process.env, ...env });
      if (unset.length) throw new Unsupported(`the script reads ${unset.map((n) => `$${n}`).join(', ')}, which Kyverno's CI environment sets and the offline runner does not have`);
    }
    const cluster = this.kubectlCluster();
    const remote: string[] = [];
    const result = await runWithShim(
      {
        ...(kind === 'script' ? { script: String(body.content) } : { entrypoint: String(body.entrypoint), args: asArray(body.args).map(String) }),
        cwd: base,
        env,
        timeoutMs,
        proxied: (request) => proxied(cluster, request),
        // What a program reads through the kubeconfig (our CLI's --cluster) it reads from the store.
        apiEndpoint: () => startApiEndpoint(this.store, () => this.kindTable()),
        cliLimit: (call) => cliRegistryLimit(call.argv, call.cwd),
        answer: async (call, stepKubeconfig) => {
          const reply = await kubectl(cluster, { argv: call.argv, cwd: call.cwd, stdin: call.stdin, kubeconfig: call.kubeconfig, stepKubeconfig });
          if (reply.remoteCommand) remote.push(reply.remoteCommand);
          return reply;
        },
      },
      (e) => (e instanceof KubectlUnsupported || e instanceof Unsupported ? e.message : undefined),
    );
    if (result.unsupported.length) throw new Unsupported([...new Set(result.unsupported)].join('; '));
    // An admitted exec's command would run in the container (the kubelet's work): offline it
    // printed nothing and exited 0. Only a command step judged by its exit code alone, the
    // command assumed to succeed, does not need what it would have printed.
    if (remote.length && (kind === 'script' || /\$std(out|err)/.test(JSON.stringify(body.check ?? null)))) {
      throw new Unsupported(`kubectl exec ran ${remote[0]}, whose output the kubelet would give and the offline runner does not have`);
    }
    if (result.timedOut) throw new StepFailure(`timed out after ${timeoutMs / 1000}s (stdout: ${JSON.stringify(result.stdout.slice(-200))}, stderr: ${JSON.stringify(result.stderr.slice(-200))})`);
    const check = asObject(body.check);
    if (body.check === undefined) {
      if (result.error !== null) throw new StepFailure(`${result.error} (stdout: ${JSON.stringify(result.stdout.slice(-300))}, stderr: ${JSON.stringify(result.stderr.slice(-300))})`);
      return;
    }
    const scope: Bindings = { ...bindings, stdout: result.stdout, stderr: result.stderr, error: result.error };
    const m = assertionMismatch({}, check, scope);
    if (m !== null) throw new StepFailure(`check ${m} (error: ${JSON.stringify(result.error)}, stderr: ${JSON.stringify(result.stderr.slice(-300))})`);
  }

  private bindingsOf(list: unknown, outer: Bindings): Bindings {
    const out: Bindings = {};
    for (const b of asArray(list).map(asObject)) {
      if (typeof b.name !== 'string') continue;
      out[b.name] = templateResource(b.value, { ...outer, ...out });
    }
    return out;
  }

  private operations(list: unknown): Operation[] {
    return asArray(list).map(asObject).map((o) => {
      const kind = OPERATION_KINDS.find((k) => k in o);
      if (!kind) throw new Unsupported(`operation ${Object.keys(o).join(',')}`);
      return { kind, body: asObject(o[kind]) };
    });
  }

  /** Runs a Test document's steps. */
  async run(test: JsonObject): Promise<void> {
    const spec = asObject(test.spec);
    // Chainsaw's built-in bindings: $namespace, and $test (the running test's id and metadata).
    const bindings: Bindings = { namespace: this.namespace, test: { id: 1, metadata: asObject(test.metadata) } };
    const configured = this.timeouts;
    Object.assign(bindings, this.bindingsOf(spec.bindings, bindings));
    // The kind cluster as a scenario finds it: its controllers long done with what it started with.
    await this.workloads.catchUp();
    for (const [i, rawStep] of asArray(spec.steps).entries()) {
      const step = asObject(rawStep);
      this.timeouts = { ...configured, ...timeoutsOf(spec.timeouts), ...timeoutsOf(step.timeouts) };
      const label = `step ${i + 1}${typeof step.name === 'string' ? ` (${step.name})` : ''}`;
      let scope: Bindings = { ...bindings, ...this.bindingsOf(step.bindings, bindings) };
      let tries = step.try;
      let base = this.dir;
      const use = asObject(step.use);
      if (typeof use.template === 'string') {
        const file = join(this.dir, use.template); // chainsaw joins (Go filepath.Join), so a leading "/" stays relative
        const template = asObject(readYaml(file)[0]);
        scope = { ...scope, ...this.bindingsOf(asObject(use.with).bindings, scope), ...this.bindingsOf(asObject(template.spec).bindings, scope) };
        tries = asObject(template.spec).try;
        // A template's files are the test's (chainsaw resolves them from the test folder).
        base = this.dir;
      }
      for (const op of this.operations(tries)) {
        try {
          await this.operation(op, scope, base);
        } catch (e) {
          if (e instanceof StepFailure || e instanceof Unsupported) {
            e.message = `${label}: ${op.kind}: ${e.message}`;
          }
          throw e;
        }
      }
    }
  }
}

/**
 * Runs the scenario of one chainsaw-test.yaml. `root` is the chainsaw folder of Kyverno's repository: the area's install
 * (feature flags, configuration) is read from Kyverno's CI workflow there (install.ts).
 */
export async function runScenario(testFile: string, relative: string, root?: string): Promise<ScenarioResult> {
  const dir = dirname(testFile);
  let name = relative;
  let scenario: Scenario | undefined;
  try {
    const docs = readYaml(testFile).filter(isJsonObject);
    const test = docs.find((d) => d.kind === 'Test');
    if (!test) throw new Unsupported('no chainsaw Test document');
    name = String(asObject(test.metadata).name ?? relative);
    if (asObject(test.spec).skip === true) return { path: relative, name, status: 'skipped', reason: 'the test says skip: true' };
    const install = root === undefined ? STANDARD_INSTALL : kyvernoInstallFor(root, relative);
    // Kyverno's CI sets skip: true on the folders it quarantines (tests-conformance.yaml).
    if (install.quarantined.includes(basename(dir))) return { path: relative, name, status: 'skipped', reason: `quarantined in Kyverno's CI for ${install.testsPath}` };
    const ns = asObject(test.spec).namespace;
    scenario = new Scenario(dir, typeof ns === 'string' && ns ? ns : 'chainsaw-offline', install);
    if (root !== undefined) scenario.timeouts = chainsawTimeouts(root, install.testsPath);
    await scenario.run(test);
    return { path: relative, name, status: 'passed' };
  } catch (e) {
    if (e instanceof Unsupported) return { path: relative, name, status: 'unsupported', reason: e.message };
    if (e instanceof StepFailure) return { path: relative, name, status: 'failed', reason: e.message };
    return { path: relative, name, status: 'failed', reason: `runner error: ${(e as Error).message}` };
  } finally {
    await scenario?.close();
  }
}
