/**
 * The shapes every part of the engine speaks. Policies and resources stay plain JSON
 * (as parsed from YAML): Kyverno's own types are too large to mirror field by field, and
 * the engine must accept whatever the CRDs accept.
 */
import type { ImageRegistrySnapshot } from '../verify-images/snapshot';

export type JsonObject = { [key: string]: unknown };

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Who sends the request: from a test's `userinfo` file, or an AdmissionReview. */
export interface RequestInfo {
  roles: string[];
  clusterRoles: string[];
  userInfo: UserInfo;
}

/** Group/version/kind of a resource, with the subresource when the request targets one. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/**
 * One admission request as the engine sees it. For CREATE `object` is set, for DELETE
 * `oldObject`, for UPDATE both.
 */
export interface AdmissionRequest {
  operation: Operation;
  object: JsonObject | null;
  oldObject: JsonObject | null;
  /** The GVK of the resource; when absent it is derived from object/oldObject. */
  kind?: GroupVersionKind;
  subResource?: string;
  /**
   * For a subresource request (whose `kind` is the subresource's, e.g. autoscaling/v1 Scale):
   * the kind of the resource it belongs to (apps/v1 StatefulSet), which Kyverno matches kinds
   * such as `StatefulSet/scale` against (its webhook's withTopLevelGVK), with the resource name.
   */
  resourceKind?: GroupVersionKind & { resource: string };
  /** Namespace of the request (object namespace for namespaced kinds). */
  namespace?: string;
  /**
   * The name the API server gives the request (an admission request's `name`): for a
   * subresource, the parent object's, which the subresource's object (PodExecOptions) may not
   * carry; when absent, the object's metadata.name.
   */
  name?: string;
  requestInfo: RequestInfo;
  dryRun?: boolean;
}

/**
 * A canned answer for an `apiCall` context entry or a CEL http call (a Test's
 * `apiCallResponses`). It answers the URL `service.url`, else `urlPath`; without a method it
 * answers any method, as the Kyverno CLI's mock index does.
 */
export interface ApiCallResponse {
  request: { method?: string; urlPath?: string; service?: { url?: string }; data?: unknown };
  /** `status` is the HTTP status code (200 when absent). */
  response: { status?: number; body?: unknown; headers?: Record<string, string> };
  /**
   * A Test's `apiCallResponses` entry (the CLI's mock index): without a method it answers any
   * method, CEL http calls get `{body, statusCode}`, and apiCall entries fail on a non-2xx status.
   */
  mock?: boolean;
}

/** An API-server POST of an `apiCall` entry and what the API server answered (or why it refused). */
export interface ApiCallPost {
  urlPath: string;
  body: JsonObject;
  answer: { body: unknown } | { error: string };
}

/**
 * An HTTP(S) request a policy makes to a service: a classic `apiCall.service` or CEL's
 * http.Get/Post. The engine only describes it (`ClusterState.serviceCallMisses`); a caller
 * with network access makes it and hands back what happened (`ClusterState.serviceCalls`).
 */
export interface ServiceCallRequest {
  method: 'GET' | 'POST';
  url: string;
  /** What a POST sends, as JSON (absent for a GET). */
  body?: unknown;
  /** Headers in the policy's order; each is added (a repeated key sends both values). */
  headers: Array<[string, string]>;
  /** PEM certificates the server's chain must end in ('' for the system's roots). */
  caBundle: string;
  /**
   * Who asks: a classic apiCall entry or the CEL http library. Kyverno runs them through
   * different clients (the library applies the SSRF blocklist, the entry a response size cap).
   */
  caller: 'apiCall' | 'http';
}

/**
 * What came back from a service call: the status and the body's text, or why there was no
 * answer (`error` in Go's net/http wording: `Get "url": ...`; `limit` when the body was
 * longer than the caller's size cap, which Kyverno reports as such).
 */
export type ServiceCallOutcome =
  | { status: number; statusText: string; text: string; overLimit?: number }
  | { error: string };

export interface ServiceCall {
  request: ServiceCallRequest;
  outcome: ServiceCallOutcome;
}

/**
 * What Kyverno's CEL libraries (resource.*, globalContext.*, http.*) see when it is not the
 * rest of the ClusterState. The Kyverno CLI sets them up apart from the classic context
 * loaders: `kyverno test` without clusterResources (and `kyverno apply`) gives them a fake
 * provider fed from the Context file, the globalContextEntries and the apiCallResponses;
 * with clusterResources, a provider on its fake API server that knows no global context
 * entry and no HTTP mock.
 */
export interface CelLibraryView {
  /**
   * 'apiServer': resource.* reads `resources` as an API server serves them.
   * 'fakeProvider': as the CLI's fake provider: one namespace bucket per call ('' holds
   * objects without a namespace), label selectors ignored, a list of a resource type it
   * holds nothing of fails, post and toGVR are not implemented.
   */
  resourceSource: 'apiServer' | 'fakeProvider';
  /** What resource.* reads (the fake provider's: a Context file's `spec.resources`). */
  resources: JsonObject[];
  /** Entries globalContext.get answers (by name); an unknown name is null. */
  globalContext: Record<string, unknown>;
  /**
   * The projections of entries that come from GlobalContextEntry objects (by entry, then by
   * projection name), as Kyverno's globalcontext store holds them: `get(name, projection)`
   * answers the precomputed projection and `get(name, "")` the entry's data.
   */
  globalContextProjections?: Record<string, Record<string, unknown>>;
  /** Entries Kyverno's store holds with an error (a failed apiCall): every read fails with it. */
  globalContextErrors?: Record<string, string>;
  /** Mocks http.get/post answer; other URLs would need the network. */
  httpMocks: ApiCallResponse[];
}

/** A read the API server refused: its resource, narrowed to a namespace and a name when it names them. */
export interface ReadRefusal {
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
  /** The API server's message (its Status), as Kyverno's error quotes it. */
  message: string;
}

/**
 * The offline stand-in for a cluster: everything a `kyverno test` run knows beyond the
 * resource under test. Built by loaders (test files, values files, the webhook's watches).
 */
export interface ClusterState {
  /** Existing resources (test `clusterResources`, `targetResources` and the like). */
  resources: JsonObject[];
  /** Labels of namespaces, for namespaceSelector (test values `namespaceSelector`). */
  namespaceLabels: Record<string, Record<string, string>>;
  /** Namespace objects by name, when known (a live cluster's); `namespaceObject` prefers them. */
  namespaceObjects?: Record<string, JsonObject>;
  apiCallResponses: ApiCallResponse[];
  /** Global context entries by name (test `globalContextEntries`/values). */
  globalContext: Record<string, unknown>;
  /**
   * Projections of GlobalContextEntry resources, by entry then projection name. An entry
   * listed here answers `entry.projection` from it; otherwise (a Test's mocks) the projection
   * is a field of the entry's value.
   */
  globalContextProjections?: Record<string, Record<string, unknown>>;
  /** GlobalContextEntry resources whose data could not be fetched (a failed apiCall), with the reason. */
  globalContextErrors?: Record<string, string>;
  /**
   * Kyverno's global context store answers `globalReference` entries (the admission
   * controller's): an entry it cannot give (unknown, failed) is an error reported to the
   * variables naming it, not an entry left undefined.
   */
  globalContextStore?: boolean;
  /** PolicyExceptions (kyverno.io and policies.kyverno.io) known to the run. */
  exceptions: JsonObject[];
  /**
   * Whether classic `apiCall` entries may read `resources` as an API server. `kyverno test`
   * allows it only when the test has clusterResources, `kyverno apply` when it has resources
   * (the default here: when `resources` is not empty); mocks answer in any case.
   */
  apiCallsAllowed?: boolean;
  /**
   * Reads the API server refused our service account (RBAC, 403), with its message: every GET
   * they cover (an `apiCall` entry, CEL resource.get/list) fails as Kyverno's call is told
   * (engine/context/api-server.ts readRefusal), instead of seeing an empty answer.
   */
  readRefusals?: ReadRefusal[];
  /**
   * When present, the URL paths of the API-server GETs (`apiCall` entries without a service,
   * and the CEL resource library's get/list) that nothing answered (every list: only the API
   * server knows the whole of it) are added here, so a caller that can read a live API server (the
   * webhook's background controller) fetches them into `apiCallResponses` and evaluates again.
   */
  apiCallMisses?: Set<string>;
  /**
   * The API server's answers to `apiCall` POSTs without a service (a SubjectAccessReview...),
   * by URL path and request body, posted by a caller that can reach the API server (the webhook).
   */
  apiCallPosts?: ApiCallPost[];
  /** When present, the POSTs nothing in `apiCallPosts` answered are added here (for the caller to post, then evaluate again). */
  apiCallPostMisses?: Array<{ urlPath: string; body: JsonObject }>;
  /** Service calls made for this evaluation (classic `apiCall.service`, CEL http.*) and their outcomes. */
  serviceCalls?: ServiceCall[];
  /**
   * When present, the service calls nothing in `serviceCalls` answered are added here, so a
   * caller with network access (the webhook) makes them and evaluates again; absent, such a
   * call fails saying it needs the network (offline: the CLI, the editor).
   */
  serviceCallMisses?: ServiceCallRequest[];
  /** Kyverno's --allowHTTPInNamespacedPolicies: Namespaced* policies may use CEL http.* (off by default). */
  allowHttpInNamespacedPolicies?: boolean;
  /** The CEL libraries' own view; absent, they see the fields above (resources as an API server). */
  celLibraries?: CelLibraryView;
  /**
   * Parameter objects of admission policies (test `paramResources`, apply
   * `--parameter-resource`): the only candidates a binding's paramRef selects from offline.
   */
  parameters?: JsonObject[];
  /**
   * Kyverno's CLI holds a cluster client (`apply --cluster`), and admission policies take its
   * client path in pkg/admissionpolicy: a MutatingAdmissionPolicy's own matchConstraints are
   * matched before its bindings', and bindings' params are read from the API server
   * (`resources`, the reads they lack noted in `apiCallMisses`: CollectParams) instead of
   * selected from `parameters`.
   */
  clusterClient?: boolean;
  /**
   * What the registry said about the run's images, read beforehand by `registry/` (the CLI's
   * `--registry`). Absent, image verification is offline and says so.
   */
  imageRegistry?: ImageRegistrySnapshot;
  /**
   * The webhook in a cluster: the pull secrets the policies name in their registry credentials
   * (`imageRegistryCredentials.secrets`, `credentials.secrets`), read from the cluster for
   * `registry/` only, with the namespace bare secret names refer to (Kyverno's). The engine
   * never reads them (no policy context sees them).
   */
  registrySecrets?: { namespace: string; secrets: JsonObject[] };
  /**
   * The webhook in a cluster: RoleBindings and ClusterRoleBindings indexed by subject (user
   * name, service account user name, group), from which admission computes the requesting
   * user's roles and clusterRoles as Kyverno does (webhook/user-roles.ts).
   */
  roleBindings?: RoleBindingIndex;
}

/** Bindings by subject: a RoleBinding's namespace, or none for a ClusterRoleBinding, and its roleRef. */
export interface RoleBindingIndex {
  byUser: Record<string, Array<{ namespace?: string; kind: string; name: string }>>;
  byGroup: Record<string, Array<{ namespace?: string; kind: string; name: string }>>;
}

/**
 * Variable values a `kyverno test` Values file supplies. Values win over context entries,
 * as in the Kyverno CLI.
 */
export interface TestValues {
  globalValues?: Record<string, unknown>;
  policies?: Array<{
    name: string;
    rules?: Array<{ name: string; values?: Record<string, unknown>; foreachValues?: Record<string, unknown[]> }>;
    resources?: Array<{ name: string; values?: Record<string, unknown> }>;
  }>;
  namespaceSelector?: Array<{ name: string; labels?: Record<string, string> }>;
  subresources?: Array<{ subresource: JsonObject; parentResource: JsonObject }>;
}

export type RuleStatus = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export type RuleType = 'Validation' | 'Mutation' | 'Generation' | 'ImageVerify' | 'Deletion';

/** The outcome of one rule (or one CEL policy/binding) on one resource. */
export interface RuleResult {
  /** Rule name as Kyverno reports it, e.g. `check-labels`, `autogen-check-labels`. */
  name: string;
  type: RuleType;
  status: RuleStatus;
  message: string;
  /**
   * Where in the resource the failure was found, as a JSON path (keys and indexes), so
   * editors can underline the exact field. Absent when the failure has no location.
   */
  path?: Array<string | number>;
  /** Mutation: the resource after this rule's patches. */
  patchedResource?: JsonObject;
  /** Generation: the resources this rule would create. */
  generatedResources?: JsonObject[];
  /** Set when a PolicyException turned a result into skip. */
  exceptions?: string[];
  /**
   * CEL validations (`validations`, `validate.cel.expressions`) the evaluation reached: Kyverno
   * stops at the first that fails or errors, so later ones were not evaluated. For coverage.
   */
  validationsEvaluated?: number;
  /** Validation failure action of the rule: Enforce or Audit. */
  failureAction?: 'Enforce' | 'Audit';
  /**
   * The result's properties (Kyverno's RuleResponse properties): a CEL policy's evaluated
   * auditAnnotations, a failed validation's `cel.validationIndex`. Policy reports carry them.
   */
  properties?: Record<string, string>;
  /** The ValidatingAdmissionPolicyBinding or MutatingAdmissionPolicyBinding whose evaluation gave an admission policy's result. */
  binding?: string;
  /** Why a CEL policy skipped: its matchConditions did not hold (background scans leave such results out). */
  skipReason?: 'matchConditions';
  /**
   * A failed podSecurity rule: its level and version as written and the failed checks
   * (Kyverno's PodSecurityChecks), from which `apply --generate-exceptions` lists the controls.
   */
  podSecurity?: { level: string; version: string; checks: Array<{ id: string; controlName: string; images: string[] }> };
}

/** A policy's identity in results. */
export interface PolicyRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** All results of one policy on one resource. */
export interface PolicyResponse {
  policy: PolicyRef;
  resource: { apiVersion: string; kind: string; name: string; namespace?: string };
  rules: RuleResult[];
  /** The resource after all mutations of this policy (equal to the input when none). */
  patchedResource: JsonObject;
}
