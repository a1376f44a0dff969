/** Shapes of a `kyverno test` run: the Test document as read, and the rows it yields. */
import type { JsonObject, RuleResult } from '../core/types';
import type { PolicyCoverage } from './coverage';

/** One decided expectation, as printed by `kyverno-studio test --json`. */
export interface TestRow {
  policy: string;
  rule: string;
  /** `name` or `namespace/name` of the resource the row is about. */
  resource: string;
  kind: string;
  /**
   * The RESOURCE column as Kyverno 1.19 prints it: `apiVersion/Kind/namespace/name` for a
   * resource (`v1/Namespace//name` when cluster-scoped), `/name` for a generated one.
   */
  column?: string;
  expected: string;
  /** The result Kyverno reports ('' when the resource was not found or was excluded). */
  actual: string;
  ok: boolean;
  reason: string;
}

export interface TestFileResult {
  path: string;
  /** 1-based position of the Test document, when the file holds several (one test each). */
  document?: number;
  /** Set when the test file itself could not be run (bad YAML, missing files...). */
  error: string | null;
  /**
   * The test file itself could not be read or parsed (or the path does not exist): Kyverno
   * reports such errors before running anything and stops.
   */
  loadError?: boolean;
  rows: TestRow[];
  /**
   * Whether the test passed: it ran, produced rows, and every row passed. A test whose
   * expected results were not all evaluated fails.
   */
  ok: boolean;
  /** Why the test did not pass ('' when it passed). */
  reason: string;
  /** Which rules the test's resources exercised (when the run was asked for coverage). */
  coverage?: PolicyCoverage[];
}

export interface ResourceSpec {
  apiVersion?: string;
  group?: string;
  version?: string;
  kind?: string;
  namespace?: string;
  name?: string;
}

/** One entry of a Test's `results`. */
export interface ExpectedResult {
  policy: string;
  rule: string;
  kind: string;
  result: string;
  resources: string[];
  resourceSpecs: ResourceSpec[];
  namespace: string;
  patchedResources: string;
  generatedResource: string;
  /** Files of which one must hold the generated resource. */
  generatedResources: string[];
  /** Report resources missing from patchedResources/generatedResource files as failures. */
  failOnMissingResources: boolean;
  cloneSourceResource: string;
  isValidatingAdmissionPolicy: boolean;
  isMutatingAdmissionPolicy: boolean;
  isValidatingPolicy: boolean;
  isMutatingPolicy: boolean;
  isGeneratingPolicy: boolean;
  isDeletingPolicy: boolean;
  isImageValidatingPolicy: boolean;
  /**
   * The admission operation the result is checked under (CREATE, UPDATE or DELETE); '' for
   * the default run (the values file's request.operation, else CREATE).
   */
  operation: string;
}

/** A Test document with Kyverno's field names resolved (Go's JSON decoding ignores key case). */
export interface TestSpec {
  name: string;
  policies: string[];
  resources: string[];
  exceptions: string[];
  clusterResources: string[];
  targetResources: string[];
  /** Non-Kubernetes payloads: JSON/YAML documents for `evaluation.mode: JSON` policies (names cleaned as Kyverno does). */
  jsonPayloads: string[];
  /** HTTP authorization requests for `evaluation.mode: HTTP` policies. */
  httpPayloads: string[];
  /** Envoy CheckRequests for `evaluation.mode: Envoy` policies. */
  envoyPayloads: string[];
  /** Parameter objects of admission policy bindings (`paramResources`). */
  paramResources: string[];
  variables: string;
  userinfo: string;
  context: string;
  values: JsonObject | null;
  /** Mocked HTTP/API answers (`apiCallResponses`), as written. */
  apiCallResponses: unknown[];
  /** Mocked global context entries (`globalContextEntries`), as written. */
  globalContextEntries: unknown[];
  results: ExpectedResult[];
}

export type { EngineResponse } from '../evaluate';
import type { EngineResponse } from '../evaluate';

/** Engine responses grouped by `apiVersion,kind,namespace,name` of the resource. */
export interface ResponseIndex {
  trigger: Map<string, EngineResponse[]>;
  /** Patched targets of mutate-existing rules, keyed by the target's identity. */
  target: Map<string, Array<{ response: EngineResponse; rule: RuleResult; resource: JsonObject }>>;
  /** Policies Kyverno's validation left out of the run, by name: why, at the value at fault. */
  invalidPolicies?: ReadonlyMap<string, string>;
}
