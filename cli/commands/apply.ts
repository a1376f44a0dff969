/** `kyverno-studio apply POLICY... --resource FILE...`: like `kyverno apply`, offline. */
import type { ClusterState, JsonObject, RequestInfo, TestValues } from '../../engine/core/types';
import { addGlobalContextEntries, isGlobalContextEntry } from '../../engine/context';
import { GO_YAML_OPTIONS } from '../../engine/loader';
import { evaluateResources, offlineCluster, type EngineResponse, type ResourceEvaluation } from '../../engine/evaluate';
import {
  addContext,
  checkPolicyShape,
  invalidPolicy,
  type InvalidPolicy,
  checkResourceShape,
  evaluateAuthzPayload,
  evaluateJsonPayload,
  loadAuthzPayload,
  loadJsonPayload,
  toRequestInfo,
  toTestValues,
  withDefaultNamespace,
  type Payload,
} from '../../engine/testing';
import { parseCommandArgs, single, type FlagSpec, type ParsedArgs } from '../../io/args';
import { cloneGitPaths } from '../io/git-source';
import { classifyDocument, readDocuments } from '../io/documents';
import { readFailure, readText } from '../io/files';
import { applyTable, countResults, describeResponses, goYaml, resourcePath, type ResultCounts } from './apply-report';
import { policyReports } from './apply-policy-report';
import { DEFAULT_EXCEPTION_TTL_NANOS, generatedExceptions } from './apply-exceptions';
import { scanDuration } from '../../engine/units/duration';
import { asObject, isJsonObject } from '../../engine/core/json';
import { cleanupPolicyResult, isCleanupPolicy } from '../../engine/cleanup';
import { policyRef } from '../../engine/policy';
import { appendFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command, CommandIO } from './command';
import { errorText } from './command';
import { dockerConfigKeychain, prefetchImageRegistry } from '../../registry';
import { runCallingServices } from './service-calls';
import type { KubeClient as KubeClientType } from '../../kube-api/client';
import { fetchClusterResources, type ClusterFetch } from '../../kube-api/cluster-resources';
import { computeRules } from '../../engine/autogen';
import type { ImageRegistrySnapshot } from '../../engine/verify-images';

/** The registry snapshot for the files' policies and resources (unreadable documents are reported later). */
export function prefetchForFiles(policyPaths: string[], resourcePaths: string[]): Promise<ImageRegistrySnapshot> {
  const objects = (paths: string[]) => readDocuments(paths).documents.map((d) => d.value).filter((v): v is JsonObject => !!v && typeof v === 'object' && !Array.isArray(v));
  const resources = objects(resourcePaths);
  // As Kyverno's CLI: the local docker config's credentials; pull secrets among the resources.
  return prefetchImageRegistry(objects(policyPaths), resources, { secrets: resources, keychain: dockerConfigKeychain() });
}

const USAGE = `Usage: kyverno-studio apply POLICY... (--resource PATH... | --json PATH... | --http-payload PATH... | --envoy-payload PATH...) [flags]

Applies policies (files or folders; "-" reads standard input) to resources or payloads and
prints the results as kyverno apply does.

Flags:
  -r, --resource PATH          resource file or folder (repeatable; alias --resources; "-" for stdin)
      --json PATH              JSON or YAML payload for ValidatingPolicies in evaluation.mode JSON (not with --resource)
      --http-payload PATH      HTTP check request (JSON) for evaluation.mode HTTP policies
      --envoy-payload PATH     Envoy CheckRequest (JSON) for evaluation.mode Envoy policies
  -f, --values-file PATH       cli.kyverno.io Values file (alias --values)
  -s, --set KEY=VALUE          variable values (repeatable, comma-separated; not with --values-file)
  -u, --userinfo PATH          cli.kyverno.io UserInfo file
  -e, --exception PATH         PolicyException files or folders (alias --exceptions)
      --exceptions-with-resources  also take PolicyExceptions found among the resources
      --context-file PATH      cli.kyverno.io Context file (resources, API call responses, images)
      --parameter-resource PATH    parameter objects for admission policy bindings
      --target-resource PATH   target resources of mutate-existing rules (alias --target-resources)
  -o, --output PATH            write mutated and generated resources to PATH (a folder: one file per resource)
  -p, --policy-report          print the results as PolicyReports
      --output-format FORMAT   policy report format: yaml (default) or json
  -t, --table                  print the results as a table
      --detailed-results       add the MESSAGE column to the table
      --remove-color           accepted for compatibility (output is never colored)
      --audit-warn             report failures of Audit policies as warnings
      --warn-exit-code N       exit code when there are warnings and no failure or error
      --warn-no-pass           exit with the warn exit code when nothing passed
      --continue-on-fail       accepted for compatibility (every resource is always applied)
  -i, --stdin                  print mutated resources only (for piping to kubectl)
      --registry               read image signatures from OCI registries for verifyImages rules
  -c, --cluster                read the resources the policies match from the cluster (with -r: only those names)
  -n, --namespace NS           with --cluster: list namespaced resources in NS only
      --kubeconfig PATH        with --cluster: the kubeconfig (default $KUBECONFIG, ~/.kube/config)
      --context NAME           with --cluster: the kubeconfig context
      --cluster-wide-resources with --cluster: cluster-scoped resources only (plus NS's with -n)
      --concurrent N, --batch-size N, --continue-on-error, --show-performance
                               accepted for compatibility (resources are listed one kind at a time)
      --crd-paths PATH         CRD files or folders: custom resource kinds and their scope (alias --crd-path)
      --generate-exceptions    print a PolicyException for each failure of a cluster-wide policy (--output-format yaml|json)
      --generated-exception-ttl D  their cleanup.kyverno.io/ttl label (Go duration; default 720h0m0s; 0 for none)
      --exceptions-within-resources  same as --exceptions-with-resources
      --exceptions-within-policies   accepted: PolicyExceptions among the policy paths are always used
  -b, --git-branch BRANCH      with an http(s) git repository URL as policy path: the branch (the URL then names a folder)
      --username U, --password P   basic auth for the git repository
  -h, --help                   show this help

A policy path http(s)://HOST/OWNER/REPO[/BRANCH] is cloned (depth 1) with the git binary.`;


type PayloadMode = 'JSON' | 'HTTP' | 'Envoy';

/** Reads and decodes payload files; a file that cannot be used is reported and skipped. */
function loadPayloads(paths: string[], mode: PayloadMode, io: Pick<CommandIO, 'err'>): { payloads: Payload[]; errors: number } {
  const payloads: Payload[] = [];
  let errors = 0;
  for (const path of paths) {
    try {
      let text: string;
      try {
        text = readText(path);
      } catch (err) {
        throw new Error(readFailure(path, err));
      }
      payloads.push(mode === 'JSON' ? loadJsonPayload(path, path, text) : loadAuthzPayload(mode, path, text));
    } catch (err) {
      io.err(`Error: ${errorText(err)}`);
      errors++;
    }
  }
  return { payloads, errors };
}

/** The rules Kyverno's apply announces for a policy: a classic policy's with its autogen rules (ComputeRules), one for any other. */
function countRules(policy: JsonObject): number {
  const spec = typeof policy.spec === 'object' && policy.spec !== null ? (policy.spec as JsonObject) : {};
  return Array.isArray(spec.rules) ? computeRules(policy).length : 1;
}

function loadSingle(path: string | undefined, what: string, io: Pick<CommandIO, 'err'>): JsonObject | undefined | null {
  if (!path) return undefined;
  const read = readDocuments([path]);
  for (const e of read.errors) io.err(`Error: ${e}`);
  if (read.errors.length > 0) return null;
  const doc = read.documents[0];
  if (!doc || typeof doc.value !== 'object' || doc.value === null || Array.isArray(doc.value)) {
    io.err(`Error: ${path}: no ${what} document found`);
    return null;
  }
  return doc.value as JsonObject;
}

export interface ApplyPaths {
  policyPaths: string[];
  resourcePaths: string[];
  valuesPath?: string;
  userinfoPath?: string;
  /** Parameter objects of admission policy bindings (`--parameter-resource`). */
  parameterPaths?: string[];
  /** A cli.kyverno.io Context file (`--context-file`): what CEL's resource library sees. */
  contextPath?: string;
  /** JSON/YAML payloads for JSON-mode policies (`--json`). */
  jsonPaths?: string[];
  /** HTTP and Envoy authorization requests (`--http-payload`, `--envoy-payload`). */
  httpPaths?: string[];
  envoyPaths?: string[];
  /** PolicyException files (`-e/--exception`). */
  exceptionPaths?: string[];
  /** Take PolicyExceptions found among the resources (`--exceptions-with-resources`). */
  exceptionsWithResources?: boolean;
  /** Targets of mutate-existing rules (`--target-resource`). */
  targetPaths?: string[];
  /** `-s/--set key=value` variables, applied as global values. */
  setValues?: Record<string, string>;
  /** Resources read from a cluster (`--cluster`), evaluated after those of `resourcePaths`. */
  clusterResources?: JsonObject[];
  /** Namespace labels read from the cluster; a Values file's namespaceSelector wins. */
  namespaceLabels?: Record<string, Record<string, string>>;
  /** `--crd-paths`: CustomResourceDefinition files (Kyverno's LoadCrdsFromPath). */
  crdPaths?: string[];
}

/**
 * The CustomResourceDefinitions of `--crd-paths` files. As Kyverno, each path must be an
 * existing .yaml/.yml file; documents that are not CRDs are skipped.
 */
function loadCrds(paths: string[], io: Pick<CommandIO, 'err'>): { crds: JsonObject[]; errors: number } {
  const crds: JsonObject[] = [];
  let errors = 0;
  for (const path of paths) {
    const abs = resolve(path.replace(/[\\/]$/, ''));
    if (!/\.ya?ml$/.test(abs)) {
      io.err(`Error: CRD file must have .yaml or .yml extension: ${abs}`);
      errors++;
      continue;
    }
    if (!existsSync(abs)) {
      io.err(`Error: CRD file does not exist at path: ${abs}`);
      errors++;
      continue;
    }
    const read = readDocuments([path]);
    for (const e of read.errors) (io.err(`Error: ${e}`), errors++);
    for (const doc of read.documents) {
      if (isJsonObject(doc.value) && doc.value.kind === 'CustomResourceDefinition' && String(doc.value.apiVersion ?? '').startsWith('apiextensions.k8s.io/')) crds.push(doc.value);
    }
  }
  return { crds, errors };
}

export interface ApplyRun {
  /** The policies evaluated. */
  policies: JsonObject[];
  /** Policies Kyverno's validation rejects: read, counted, never evaluated. */
  invalidPolicies: Array<InvalidPolicy & { policy: JsonObject }>;
  /** ClusterCleanupPolicies and CleanupPolicies: reported per resource, never evaluated on admission. */
  cleanupPolicies: JsonObject[];
  /** The offline cluster the resources were evaluated against. */
  cluster: ClusterState;
  resources: JsonObject[];
  exceptionCount: number;
  evaluations: ResourceEvaluation[];
  /** Responses per payload (JSON payloads, then HTTP, then Envoy requests). */
  payloadResponses: EngineResponse[][];
  /** How many JSON payloads were evaluated (kyverno apply counts them as resources). */
  jsonPayloadCount: number;
  inputErrors: number;
}

/** The inputs of `kyverno apply`, read: what applyEvaluation evaluates (as often as needed). */
export interface ApplyInputFiles {
  policies: JsonObject[];
  invalidPolicies: ApplyRun['invalidPolicies'];
  cleanupPolicies: JsonObject[];
  /** The offline cluster the resources are evaluated against. */
  cluster: ClusterState;
  resources: JsonObject[];
  exceptionCount: number;
  values: TestValues | undefined;
  requestInfo: RequestInfo | undefined;
  payloads: Record<PayloadMode, Payload[]>;
  inputErrors: number;
}

/**
 * Reads the files as `kyverno apply` does and evaluates every resource on the one engine path
 * (engine/evaluate). Problems with the inputs are written to `io.err` and counted.
 */
export function applyFiles(paths: ApplyPaths, io: Pick<CommandIO, 'err'>, options: { now?: Date; imageRegistry?: ImageRegistrySnapshot } = {}): ApplyRun {
  const inputs = readApplyFiles(paths, io, options);
  return applyEvaluation(inputs, inputs.cluster, options.now);
}

/** Reads the files as `kyverno apply` does (applyFiles); problems are written to `io.err` and counted. */
export function readApplyFiles(paths: ApplyPaths, io: Pick<CommandIO, 'err'>, options: { imageRegistry?: ImageRegistrySnapshot } = {}): ApplyInputFiles {
  let inputErrors = 0;
  const policies: JsonObject[] = [];
  const invalidPolicies: ApplyRun['invalidPolicies'] = [];
  const cleanupPolicies: JsonObject[] = [];
  const exceptions: JsonObject[] = [];
  const bindings: JsonObject[] = [];
  const policyRead = readDocuments(paths.policyPaths);
  for (const e of policyRead.errors) (io.err(`Error: ${e}`), inputErrors++);
  for (const doc of policyRead.documents) {
    const cls = classifyDocument(doc.value);
    try {
      if (cls === 'policy') {
        const policy = checkPolicyShape(doc);
        const invalid = invalidPolicy(doc, policy);
        if (invalid) invalidPolicies.push({ ...invalid, policy });
        else policies.push(policy);
      }
      else if (isJsonObject(doc.value) && isCleanupPolicy(doc.value)) cleanupPolicies.push(doc.value);
      else if (cls === 'exception') exceptions.push(doc.value as JsonObject);
      else if (cls === 'binding') bindings.push(doc.value as JsonObject);
      else io.err(`Warning: ${doc.file}:${doc.line}: not a policy (${cls}), ignored`);
    } catch (err) {
      io.err(`Error: ${errorText(err)}`);
      inputErrors++;
    }
  }
  const resources: JsonObject[] = [];
  const globalContextEntries: JsonObject[] = [];
  const resourceRead = readDocuments(paths.resourcePaths);
  for (const e of resourceRead.errors) (io.err(`Error: ${e}`), inputErrors++);
  for (const doc of resourceRead.documents) {
    if (paths.exceptionsWithResources && classifyDocument(doc.value) === 'exception') {
      exceptions.push(doc.value as JsonObject);
      continue;
    }
    try {
      const resource = withDefaultNamespace(checkResourceShape(doc));
      // Kyverno apply takes GlobalContextEntry resources out of the resources to evaluate.
      if (isGlobalContextEntry(resource)) globalContextEntries.push(resource);
      else resources.push(resource);
    } catch (err) {
      io.err(`Error: ${errorText(err)}`);
      inputErrors++;
    }
  }
  for (const resource of paths.clusterResources ?? []) {
    if (isGlobalContextEntry(resource)) globalContextEntries.push(resource);
    else resources.push(resource);
  }
  /** Plain resources from files (parameters, targets): shape-checked, `default` namespace added. */
  const readPlainResources = (files: string[]): JsonObject[] => {
    const out: JsonObject[] = [];
    const read = readDocuments(files);
    for (const e of read.errors) (io.err(`Error: ${e}`), inputErrors++);
    for (const doc of read.documents) {
      try {
        out.push(withDefaultNamespace(checkResourceShape(doc)));
      } catch (err) {
        io.err(`Error: ${errorText(err)}`);
        inputErrors++;
      }
    }
    return out;
  };
  const parameters = readPlainResources(paths.parameterPaths ?? []);
  const exceptionRead = readDocuments(paths.exceptionPaths ?? []);
  for (const e of exceptionRead.errors) (io.err(`Error: ${e}`), inputErrors++);
  for (const doc of exceptionRead.documents) {
    if (classifyDocument(doc.value) === 'exception') exceptions.push(doc.value as JsonObject);
    else io.err(`Warning: ${doc.file}:${doc.line}: not a PolicyException, ignored`);
  }
  const targets = readPlainResources(paths.targetPaths ?? []);
  let values: TestValues | undefined;
  const valuesDoc = loadSingle(paths.valuesPath, 'Values', io);
  if (valuesDoc === null) inputErrors++;
  else if (valuesDoc) values = toTestValues(valuesDoc);
  if (paths.setValues && Object.keys(paths.setValues).length > 0) {
    values = { ...(values ?? {}), globalValues: { ...(values?.globalValues ?? {}), ...paths.setValues } };
  }
  let requestInfo: RequestInfo | undefined;
  const userDoc = loadSingle(paths.userinfoPath, 'UserInfo', io);
  if (userDoc === null) inputErrors++;
  else if (userDoc) requestInfo = toRequestInfo(userDoc);
  // CEL libraries get the CLI's fake provider: the Context file's resources, nothing else.
  const contextDoc = loadSingle(paths.contextPath, 'Context', io);
  if (contextDoc === null) inputErrors++;
  const crdRead = loadCrds(paths.crdPaths ?? [], io);
  inputErrors += crdRead.errors;
  const cluster = offlineCluster({ exceptions, bindings, resources, parameters, values });
  // CRDs are cluster objects: resource lookups (CEL resource library, apiCall) read their names.
  cluster.resources.push(...crdRead.crds);
  for (const [ns, labels] of Object.entries(paths.namespaceLabels ?? {})) cluster.namespaceLabels[ns] ??= labels;
  if (options.imageRegistry) cluster.imageRegistry = options.imageRegistry;
  // As the CLI's fake client: mutate-existing targets are cluster objects.
  cluster.resources.push(...targets);
  if (contextDoc) cluster.celLibraries?.resources.push(...addContext(cluster, contextDoc));
  // Kyverno apply lists the objects of GlobalContextEntry resources from its fake client.
  try {
    if (resources.length + parameters.length > 0) addGlobalContextEntries(cluster, globalContextEntries, [...resources, ...parameters]);
  } catch (err) {
    io.err(`Error: failed to build global context store: ${errorText(err)}`);
    inputErrors++;
  }
  const json = loadPayloads(paths.jsonPaths ?? [], 'JSON', io);
  const http = loadPayloads(paths.httpPaths ?? [], 'HTTP', io);
  const envoy = loadPayloads(paths.envoyPaths ?? [], 'Envoy', io);
  inputErrors += json.errors + http.errors + envoy.errors;
  const payloads = { JSON: json.payloads, HTTP: http.payloads, Envoy: envoy.payloads };
  return { policies, invalidPolicies, cleanupPolicies, cluster, resources, exceptionCount: exceptions.length, values, requestInfo, payloads, inputErrors };
}

/**
 * `--cluster`: Kyverno's CLI hands its engines the live cluster's client (the CEL libraries'
 * context provider, the classic engine's apiCall client and the admission policies' params
 * reader are the real ones, not the fake ones built from the files), so every read a policy
 * makes (resource.Get/List, apiCall GETs and POSTs, a binding's paramRef) is answered by the
 * API server. The synchronous engine notes what it read and
 * nothing answered, the reads are made, and it evaluates again (webhook/cluster-reads.ts).
 */
async function evaluateOnCluster(client: KubeClientType, read: ApplyInputFiles): Promise<ApplyRun> {
  const [{ evaluateReadingCluster }, { makeServiceCalls }] = await Promise.all([import('../../webhook/cluster-reads'), import('../../webhook/service-calls')]);
  const cluster = read.cluster;
  delete cluster.celLibraries;
  cluster.apiCallsAllowed = true;
  cluster.clusterClient = true;
  return evaluateReadingCluster(client, cluster, () => applyEvaluation(read, cluster), undefined, {
    post: (path, body) => client.request<unknown>({ method: 'POST', path, body }),
    service: (requests, made) => makeServiceCalls(requests, made, {}),
  });
}

/** Evaluates the inputs read (readApplyFiles) against `cluster` (theirs, or a copy holding service calls made). */
export function applyEvaluation(inputs: ApplyInputFiles, cluster: ClusterState, now?: Date): ApplyRun {
  const { policies, cleanupPolicies, resources, values, requestInfo, payloads } = inputs;
  const evaluations = evaluateResources({ policies, resources, cluster, values, requestInfo, now });
  const payloadInput = { policies, cluster, now };
  // Kyverno apply reports every cleanup policy on every resource (after the JSON payloads).
  const cleanupResponses: EngineResponse[] = cleanupPolicies.flatMap((policy) =>
    resources.map((resource) => {
      const namespace = String(asObject(resource.metadata).namespace ?? '');
      const rule = cleanupPolicyResult(policy, resource, cluster.namespaceLabels[namespace] ?? {}, cluster, now);
      return { policy: policyRef(policy), resource, patchedResource: resource, rules: [rule], policyAnnotations: {} };
    }),
  );
  const payloadResponses = [
    ...payloads.JSON.map((p) => evaluateJsonPayload(payloadInput, p)),
    ...(cleanupResponses.length ? [cleanupResponses] : []),
    ...payloads.HTTP.map((p) => evaluateAuthzPayload(payloadInput, 'HTTP', p)),
    ...payloads.Envoy.map((p) => evaluateAuthzPayload(payloadInput, 'Envoy', p)),
  ];
  const { invalidPolicies, exceptionCount, inputErrors } = inputs;
  return { policies, invalidPolicies, cleanupPolicies, cluster, resources, exceptionCount, evaluations, payloadResponses, jsonPayloadCount: payloads.JSON.length, inputErrors };
}

/**
 * kyverno apply's printSkippedAndInvalidPolicies: the policies validation rejected, with
 * Kyverno's reason; those whose reason is about `element.name` are listed as invalid.
 */
function printInvalidPolicies(invalid: ReadonlyArray<InvalidPolicy>, out: (text: string) => void): void {
  const divider = '----------------------------------------------------------------------';
  const invalidVariable = (p: InvalidPolicy) => p.reason.startsWith("variable 'element.name'");
  for (const [title, list] of [['Policies Skipped:', invalid.filter((p) => !invalidVariable(p))], ['Invalid Policies:', invalid.filter(invalidVariable)]] as const) {
    if (list.length === 0) continue;
    out([divider, title, ...list.map((p, i) => (p.reason ? `${i + 1}. ${p.name}: ${p.reason}` : `${i + 1}. ${p.name}`)), divider].join('\n'));
  }
}

/** Kyverno prints the resource after every kyverno.io policy with mutate rules, applied or not. */
function hasMutateRules(policy: JsonObject | undefined): boolean {
  const spec = policy && isJsonObject(policy.spec) ? policy.spec : {};
  return Array.isArray(spec.rules) && spec.rules.some((r) => isJsonObject(r) && r.mutate !== undefined);
}

/** Parses `-s key=value` variables; a term without `=` is an error. */
function parseSet(terms: string[]): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const term of terms) {
    const at = term.indexOf('=');
    if (at <= 0) return `invalid --set value "${term}": expected key=value`;
    out[term.slice(0, at).trim()] = term.slice(at + 1).trim();
  }
  return out;
}

/** kyverno apply's printOutput: a mutated or generated resource to stdout or to `-o PATH`. */
interface OutputTarget {
  path?: string;
  isDir: boolean;
  stdin: boolean;
}

function emitResource(target: OutputTarget, resource: JsonObject, header: string, fileName: string, trailer: string, io: CommandIO): void {
  const yaml = goYaml(resource);
  if (!target.path) {
    // The header line ends where the resource starts; without it (--stdin) a blank line does.
    io.out(`${target.stdin ? '\n' : `\n${header}:\n`}${yaml}\n---\n${trailer}`);
    return;
  }
  const file = target.isDir ? join(target.path, `${fileName}.yaml`) : target.path;
  appendFileSync(file, `${yaml}\n---\n\n`);
}

export const APPLY_FLAGS: FlagSpec = {
  values: ['resource', 'resources', 'crd-paths', 'crd-path', 'values', 'values-file', 'userinfo', 'parameter-resource', 'json', 'http-payload', 'envoy-payload', 'set', 'exception', 'exceptions', 'target-resource', 'target-resources'],
  scalars: ['output', 'output-format', 'context-file', 'warn-exit-code', 'namespace', 'kubeconfig', 'context', 'concurrent', 'batch-size', 'generated-exception-ttl', 'git-branch', 'username', 'password'],
  booleans: ['help', 'audit-warn', 'policy-report', 'table', 'detailed-results', 'remove-color', 'warn-no-pass', 'continue-on-fail', 'stdin', 'exceptions-with-resources', 'exceptions-within-resources', 'exceptions-within-policies', 'generate-exceptions', 'registry', 'cluster', 'cluster-wide-resources', 'continue-on-error', 'show-performance'],
  aliases: { r: 'resource', f: 'values-file', u: 'userinfo', o: 'output', s: 'set', e: 'exception', p: 'policy-report', t: 'table', i: 'stdin', c: 'cluster', n: 'namespace', b: 'git-branch', h: 'help' },
  choices: { 'output-format': ['yaml', 'json'] },
};

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Apply policies to resources (like `kyverno apply`)',
  usage: USAGE,
  flags: APPLY_FLAGS,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const args = parseCommandArgs(argv, APPLY_FLAGS, USAGE, io);
    if (typeof args === 'number') return args;
    const all = (...names: string[]) => names.flatMap((n) => args.values.get(n) ?? []);
    const resourcePaths = all('resource', 'resources');
    const jsonPaths = all('json');
    const httpPaths = all('http-payload');
    const envoyPaths = all('envoy-payload');
    const valuesPath = single(args, 'values-file') ?? single(args, 'values');
    const warnExitText = single(args, 'warn-exit-code') ?? '0';
    const warnExitCode = Number(warnExitText);
    if (!/^-?\d+$/.test(warnExitText)) {
      io.err(`Error: invalid argument "${warnExitText}" for "--warn-exit-code" flag: not an integer`);
      return 2;
    }
    const ttlText = single(args, 'generated-exception-ttl');
    let exceptionTtl = DEFAULT_EXCEPTION_TTL_NANOS;
    if (ttlText !== undefined) {
      const ttl = scanDuration(ttlText);
      if (typeof ttl === 'string') {
        io.err(`Error: invalid argument "${ttlText}" for "--generated-exception-ttl" flag: ${ttl}`);
        return 2;
      }
      exceptionTtl = ttl;
    }
    const generateExceptions = args.booleans.has('generate-exceptions');
    const reportFormat = single(args, 'output-format') ?? 'yaml';
    // The checks and messages of kyverno apply's checkArguments.
    const setTerms = all('set');
    if (valuesPath !== undefined && setTerms.length > 0) {
      io.err('Error: pass the values either using set flag or values_file flag');
      return 1;
    }
    if (args.positionals.length === 0) {
      io.err(`Error: require policy\n${USAGE}`);
      return 2;
    }
    if (args.positionals.includes('-') && resourcePaths.includes('-')) {
      io.err('Error: a stdin pipe can be used for either policies or resources, not both');
      return 1;
    }
    if (resourcePaths.length > 0 && jsonPaths.length > 0) {
      io.err('Error: both resource and json files can not be used together, use one or the other');
      return 2;
    }
    const fromCluster = args.booleans.has('cluster');
    if (resourcePaths.length + jsonPaths.length + httpPaths.length + envoyPaths.length === 0 && !fromCluster) {
      io.err(`Error: resource file(s) or cluster required\n${USAGE}`);
      return 2;
    }
    const crdPaths = all('crd-paths', 'crd-path').filter((p) => p.trim() !== '');
    if (crdPaths.length > 0 && (single(args, 'kubeconfig') ?? '').trim() !== '') {
      io.err('Error: crd-paths and kubeconfig flags are mutually exclusive, please use only one of them');
      return 1;
    }
    for (const name of ['concurrent', 'batch-size']) {
      const text = single(args, name);
      if (text !== undefined && !/^-?\d+$/.test(text)) {
        io.err(`Error: invalid argument "${text}" for "--${name}" flag: not an integer`);
        return 2;
      }
    }
    // Git repositories among the policy paths are cloned for the run (Kyverno's git sources).
    let policySources: ReturnType<typeof cloneGitPaths>;
    try {
      policySources = cloneGitPaths(args.positionals, single(args, 'git-branch') ?? '', { username: single(args, 'username') ?? '', password: single(args, 'password') ?? '' });
    } catch (err) {
      io.err(`Error: failed to load policies (${errorText(err)})`);
      return 1;
    }
    try {
      return await applyRun(args, io, { policyPaths: policySources.paths, resourcePaths, jsonPaths, httpPaths, envoyPaths, valuesPath, warnExitCode, exceptionTtl, generateExceptions, reportFormat, setTerms, fromCluster, crdPaths });
    } finally {
      policySources.dispose();
    }
  },
};

interface ApplyInputs {
  /** The policy paths, git sources replaced by their clones. */
  policyPaths: string[];
  resourcePaths: string[];
  jsonPaths: string[];
  httpPaths: string[];
  envoyPaths: string[];
  valuesPath: string | undefined;
  warnExitCode: number;
  exceptionTtl: bigint;
  generateExceptions: boolean;
  reportFormat: string;
  setTerms: string[];
  fromCluster: boolean;
  crdPaths: string[];
}

async function applyRun(args: ParsedArgs, io: CommandIO, inputs: ApplyInputs): Promise<number> {
    const { policyPaths, resourcePaths, jsonPaths, httpPaths, envoyPaths, valuesPath, warnExitCode, exceptionTtl, generateExceptions, reportFormat, setTerms, fromCluster, crdPaths } = inputs;
    const all = (...names: string[]) => names.flatMap((n) => args.values.get(n) ?? []);
    let clusterFetch: ClusterFetch | undefined;
    let client: KubeClientType | undefined;
    if (fromCluster) {
      // --cluster: -r names objects of the cluster instead of files (Kyverno's name matching).
      try {
        // Loaded on demand: the Kubernetes client costs ~0.25 s and 60 MB at start-up.
        const { KubeClient } = await import('../../kube-api/client');
        client = KubeClient.fromKubeconfig(single(args, 'kubeconfig') || undefined, single(args, 'context') || undefined);
        const policyObjects = readDocuments(policyPaths).documents.map((d) => d.value).filter((v): v is JsonObject => isJsonObject(v) && classifyDocument(v) === 'policy');
        const namespace = single(args, 'namespace') || undefined;
        // As Kyverno: --cluster-wide-resources lists cluster-scoped kinds, then (with -n) also
        // the namespace's objects.
        clusterFetch = args.booleans.has('cluster-wide-resources')
          ? await fetchClusterResources(client, policyObjects, { names: resourcePaths, clusterWideOnly: true })
          : undefined;
        if ((!clusterFetch || namespace) && clusterFetch?.notFound === undefined) {
          const more = await fetchClusterResources(client, policyObjects, { namespace, names: resourcePaths });
          clusterFetch = clusterFetch
            ? { resources: [...clusterFetch.resources, ...more.resources], namespaceLabels: { ...clusterFetch.namespaceLabels, ...more.namespaceLabels }, notFound: more.notFound }
            : more;
        }
      } catch (err) {
        io.err(`Error: failed to load resources (${errorText(err)})`);
        return 1;
      }
      if (clusterFetch.notFound !== undefined) {
        if (!args.booleans.has('policy-report')) io.out(`\n----------------------------------------------------------------------\nresource ${clusterFetch.notFound} not found in cluster\n----------------------------------------------------------------------`);
        io.err(`Error: failed to load resources (${clusterFetch.notFound} not found in cluster)`);
        return 1;
      }
    }
    // --registry (Kyverno's flag): read the images verifyImages rules check before evaluating.
    const imageRegistry = args.booleans.has('registry') ? await prefetchForFiles(policyPaths, resourcePaths) : undefined;
    const setValues = parseSet(setTerms);
    if (typeof setValues === 'string') {
      io.err(`Error: ${setValues}`);
      return 1;
    }
    const outputPath = single(args, 'output');
    const target: OutputTarget = { path: outputPath, isDir: false, stdin: args.booleans.has('stdin') };
    if (outputPath !== undefined) {
      // As Kyverno: a path ending in / or an existing folder is a folder (created if needed); a file is truncated.
      try {
        target.isDir = /[\\/]$/.test(outputPath) || (existsSync(outputPath) && statSync(outputPath).isDirectory());
        if (target.isDir) mkdirSync(outputPath, { recursive: true });
        else {
          if (dirname(outputPath) !== '.') mkdirSync(dirname(outputPath), { recursive: true });
          writeFileSync(outputPath, '');
        }
      } catch (err) {
        io.err(`Error: failed to open ${outputPath}: ${errorText(err)}`);
        return 1;
      }
    }
    // The files are read once; the evaluation runs again while it names calls not made yet.
    const read = readApplyFiles({
      policyPaths,
      resourcePaths: fromCluster ? [] : resourcePaths,
      clusterResources: clusterFetch?.resources,
      namespaceLabels: clusterFetch?.namespaceLabels,
      crdPaths,
      valuesPath,
      userinfoPath: single(args, 'userinfo'),
      parameterPaths: all('parameter-resource'),
      jsonPaths,
      httpPaths,
      envoyPaths,
      exceptionPaths: all('exception', 'exceptions'),
      // --exceptions-within-resources is Kyverno's other spelling of the same flag.
      exceptionsWithResources: args.booleans.has('exceptions-with-resources') || args.booleans.has('exceptions-within-resources'),
      contextPath: single(args, 'context-file'),
      targetPaths: all('target-resource', 'target-resources'),
      setValues,
    }, io, { imageRegistry });
    const run = client ? await evaluateOnCluster(client, read) : await runCallingServices(read.cluster, (cluster) => applyEvaluation(read, cluster));
    const { policies, resources, inputErrors } = run;
    const policyReport = args.booleans.has('policy-report');
    if (!target.stdin && !policyReport && !generateExceptions) {
      // Kyverno counts the rules before it validates the policies.
      const ruleCount = [...policies, ...run.invalidPolicies.map((p) => p.policy)].reduce((n, p) => n + countRules(p), 0) + run.cleanupPolicies.length;
      const count = resources.length + run.jsonPayloadCount;
      const withExceptions = run.exceptionCount > 0 ? ` with ${run.exceptionCount} exception(s)` : '';
      io.out(`\nApplying ${ruleCount} policy rule(s) to ${count} resource(s)${withExceptions}...`);
    }
    const byName = new Map([...policies, ...run.cleanupPolicies].map((p) => [String((p.metadata as JsonObject).name), p]));
    const auditWarn = args.booleans.has('audit-warn');
    const responses: EngineResponse[] = [];
    for (const evaluation of run.evaluations) {
      for (const response of evaluation.responses) {
        const where = resourcePath(response.resource);
        const meta = isJsonObject(response.resource.metadata) ? response.resource.metadata : {};
        if (response.rules.some((r) => r.type === 'Mutation') || hasMutateRules(byName.get(response.policy.name))) {
          emitResource(target, response.patchedResource, `policy ${response.policy.name} applied to ${where}`, `${String(meta.name ?? '')}-mutated`, '\n\nMutation:\nMutation has been applied successfully.', io);
        }
        for (const rule of response.rules) {
          for (const generated of rule.generatedResources ?? []) {
            emitResource(target, generated, `policy ${response.policy.name} applied to ${where}`, `${response.policy.name}-generated`, '\n\nGenerate:\nGeneration completed successfully.', io);
          }
        }
      }
      responses.push(...evaluation.responses);
    }
    for (const payload of run.payloadResponses) responses.push(...payload);
    // Each policy validation rejected is an error of the run (rc.IncrementError), listed before the results.
    const counts: ResultCounts = { pass: 0, fail: 0, warn: 0, error: run.invalidPolicies.length, skip: 0 };
    for (const invalid of run.invalidPolicies) for (const location of invalid.locations) io.err(`Error: ${location}`);
    printInvalidPolicies(run.invalidPolicies, io.out);
    countResults(responses, byName, auditWarn, counts);
    if (policyReport) {
      io.out(policyReports(responses, byName, auditWarn, reportFormat === 'json' ? 'json' : 'yaml'));
    } else if (generateExceptions) {
      const exceptions = generatedExceptions(responses, byName, auditWarn, reportFormat === 'json' ? 'json' : 'yaml', exceptionTtl);
      if (exceptions) io.out(exceptions.replace(/\n$/, ''));
    } else if (args.booleans.has('table')) {
      io.out(applyTable(responses, byName, auditWarn, args.booleans.has('detailed-results')));
    } else {
      describeResponses(responses, byName, auditWarn, io.out);
      io.out(`\npass: ${counts.pass}, fail: ${counts.fail}, warn: ${counts.warn}, error: ${counts.error}, skip: ${counts.skip} `);
    }
    if (inputErrors > 0) io.err(`\n${inputErrors} input error(s)`);
    // Kyverno's exit(): failures, then errors, then warnings with --warn-exit-code, then --warn-no-pass.
    if (counts.fail > 0) {
      io.err('Error: exit as there are policy violations');
      return 1;
    }
    if (counts.error > 0 || inputErrors > 0) {
      io.err('Error: exit as there are policy errors');
      return 1;
    }
    if (counts.warn > 0 && warnExitCode !== 0) {
      io.out(`exit as warnExitCode is ${warnExitCode}`);
      return warnExitCode;
    }
    if (counts.pass === 0 && args.booleans.has('warn-no-pass')) {
      io.out('exit as no objects satisfied policy');
      return warnExitCode;
    }
    return 0;
}
