/** `kyverno-studio apply POLICY... --resource FILE...`: like `kyverno apply`, offline. */
import { stringify } from 'yaml';
import type { JsonObject, RequestInfo, TestValues } from '../../engine/core/types';
import { addGlobalContextEntries, isGlobalContextEntry } from '../../engine/context';
import { GO_YAML_OPTIONS } from '../../engine/loader';
import { evaluateResources, offlineCluster, type EngineResponse, type ResourceEvaluation } from '../../engine/evaluate';
import {
  addContext,
  checkPolicyShape,
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
import { parseCommandArgs, single } from '../args';
import { classifyDocument, readDocuments } from '../io/documents';
import { readFailure, readText } from '../io/files';
import { countAndDescribe, type ResultCounts } from './apply-report';
import type { Command, CommandIO } from './command';
import { errorText } from './command';

const USAGE = `Usage: kyverno-studio apply POLICY... (--resource FILE... | --json FILE... | --http-payload FILE... | --envoy-payload FILE...) [flags]

Applies policies (files or folders) to resources or payloads and prints the results.

Flags:
  -r, --resource PATH      resource file or folder (repeatable)
      --json PATH          JSON or YAML payload for ValidatingPolicies in evaluation.mode JSON (repeatable; not with --resource)
      --http-payload PATH  HTTP check request (JSON) for ValidatingPolicies in evaluation.mode HTTP (repeatable)
      --envoy-payload PATH Envoy CheckRequest (JSON) for ValidatingPolicies in evaluation.mode Envoy (repeatable)
  -f, --values PATH        cli.kyverno.io Values file (alias --values-file)
  -u, --userinfo PATH      cli.kyverno.io UserInfo file
      --parameter-resource PATH  parameter objects for admission policy bindings (repeatable)
      --context-file PATH  cli.kyverno.io Context file: resources and images CEL policies read
  -o, --output yaml        print the resulting (mutated and generated) resources as YAML
      --audit-warn         report failures of Audit policies as warnings
  -h, --help               show this help`;

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

function countRules(policy: JsonObject): number {
  const spec = typeof policy.spec === 'object' && policy.spec !== null ? (policy.spec as JsonObject) : {};
  return Array.isArray(spec.rules) ? spec.rules.length : 1;
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
}

export interface ApplyRun {
  policies: JsonObject[];
  resources: JsonObject[];
  evaluations: ResourceEvaluation[];
  /** Responses per payload (JSON payloads, then HTTP, then Envoy requests). */
  payloadResponses: EngineResponse[][];
  /** How many JSON payloads were evaluated (kyverno apply counts them as resources). */
  jsonPayloadCount: number;
  inputErrors: number;
}

/**
 * Reads the files as `kyverno apply` does and evaluates every resource on the one engine path
 * (engine/evaluate). Problems with the inputs are written to `io.err` and counted.
 */
export function applyFiles(paths: ApplyPaths, io: Pick<CommandIO, 'err'>, options: { now?: Date } = {}): ApplyRun {
  let inputErrors = 0;
  const policies: JsonObject[] = [];
  const exceptions: JsonObject[] = [];
  const bindings: JsonObject[] = [];
  const policyRead = readDocuments(paths.policyPaths);
  for (const e of policyRead.errors) (io.err(`Error: ${e}`), inputErrors++);
  for (const doc of policyRead.documents) {
    const cls = classifyDocument(doc.value);
    try {
      if (cls === 'policy') policies.push(checkPolicyShape(doc));
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
  const parameters: JsonObject[] = [];
  const parameterRead = readDocuments(paths.parameterPaths ?? []);
  for (const e of parameterRead.errors) (io.err(`Error: ${e}`), inputErrors++);
  for (const doc of parameterRead.documents) {
    try {
      parameters.push(withDefaultNamespace(checkResourceShape(doc)));
    } catch (err) {
      io.err(`Error: ${errorText(err)}`);
      inputErrors++;
    }
  }
  let values: TestValues | undefined;
  const valuesDoc = loadSingle(paths.valuesPath, 'Values', io);
  if (valuesDoc === null) inputErrors++;
  else if (valuesDoc) values = toTestValues(valuesDoc);
  let requestInfo: RequestInfo | undefined;
  const userDoc = loadSingle(paths.userinfoPath, 'UserInfo', io);
  if (userDoc === null) inputErrors++;
  else if (userDoc) requestInfo = toRequestInfo(userDoc);
  // CEL libraries get the CLI's fake provider: the Context file's resources, nothing else.
  const contextDoc = loadSingle(paths.contextPath, 'Context', io);
  if (contextDoc === null) inputErrors++;
  const cluster = offlineCluster({ exceptions, bindings, resources, parameters, values });
  if (contextDoc) cluster.celLibraries?.resources.push(...addContext(cluster, contextDoc));
  // Kyverno apply lists the objects of GlobalContextEntry resources from its fake client.
  try {
    if (resources.length + parameters.length > 0) addGlobalContextEntries(cluster, globalContextEntries, [...resources, ...parameters]);
  } catch (err) {
    io.err(`Error: failed to build global context store: ${errorText(err)}`);
    inputErrors++;
  }
  const evaluations = evaluateResources({ policies, resources, cluster, values, requestInfo, now: options.now });
  const json = loadPayloads(paths.jsonPaths ?? [], 'JSON', io);
  const http = loadPayloads(paths.httpPaths ?? [], 'HTTP', io);
  const envoy = loadPayloads(paths.envoyPaths ?? [], 'Envoy', io);
  inputErrors += json.errors + http.errors + envoy.errors;
  const payloadInput = { policies, cluster, now: options.now };
  const payloadResponses = [
    ...json.payloads.map((p) => evaluateJsonPayload(payloadInput, p)),
    ...http.payloads.map((p) => evaluateAuthzPayload(payloadInput, 'HTTP', p)),
    ...envoy.payloads.map((p) => evaluateAuthzPayload(payloadInput, 'Envoy', p)),
  ];
  return { policies, resources, evaluations, payloadResponses, jsonPayloadCount: json.payloads.length, inputErrors };
}

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Apply policies to resources (like `kyverno apply`)',
  usage: USAGE,
  run(argv: string[], io: CommandIO): number {
    const args = parseCommandArgs(argv, {
        values: ['resource', 'values', 'values-file', 'userinfo', 'output', 'parameter-resource', 'json', 'http-payload', 'envoy-payload', 'context-file'],
        booleans: ['help', 'audit-warn'],
        aliases: { r: 'resource', f: 'values', u: 'userinfo', o: 'output', h: 'help' },
      }, USAGE, io);
    if (typeof args === 'number') return args;
    const output = single(args, 'output');
    if (output !== undefined && output !== 'yaml') {
      io.err(`Error: unsupported output format "${output}" (expected yaml)`);
      return 2;
    }
    const resourcePaths = args.values.get('resource') ?? [];
    const jsonPaths = args.values.get('json') ?? [];
    const httpPaths = args.values.get('http-payload') ?? [];
    const envoyPaths = args.values.get('envoy-payload') ?? [];
    // The checks and messages of kyverno apply's checkArguments.
    if (args.positionals.length === 0) {
      io.err(`Error: require policy\n${USAGE}`);
      return 2;
    }
    if (resourcePaths.length > 0 && jsonPaths.length > 0) {
      io.err('Error: both resource and json files can not be used together, use one or the other');
      return 2;
    }
    if (resourcePaths.length + jsonPaths.length + httpPaths.length + envoyPaths.length === 0) {
      io.err(`Error: resource file(s) or cluster required\n${USAGE}`);
      return 2;
    }
    const run = applyFiles({
      policyPaths: args.positionals,
      resourcePaths,
      valuesPath: single(args, 'values') ?? single(args, 'values-file'),
      userinfoPath: single(args, 'userinfo'),
      parameterPaths: args.values.get('parameter-resource') ?? [],
      contextPath: single(args, 'context-file'),
      jsonPaths,
      httpPaths,
      envoyPaths,
    }, io);
    const { policies, resources, inputErrors } = run;
    const ruleCount = policies.reduce((n, p) => n + countRules(p), 0);
    io.out(`\nApplying ${ruleCount} policy rule(s) to ${resources.length + run.jsonPayloadCount} resource(s)...`);
    const counts: ResultCounts = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    const byName = new Map(policies.map((p) => [String((p.metadata as JsonObject).name), p]));
    const produced: JsonObject[] = [];
    for (const evaluation of run.evaluations) {
      countAndDescribe(evaluation.responses, byName, args.booleans.has('audit-warn'), counts, io.out);
      produced.push(evaluation.patched);
      for (const r of evaluation.responses) for (const rule of r.rules) produced.push(...(rule.generatedResources ?? []));
    }
    for (const responses of run.payloadResponses) countAndDescribe(responses, byName, args.booleans.has('audit-warn'), counts, io.out);
    io.out(`\npass: ${counts.pass}, fail: ${counts.fail}, warn: ${counts.warn}, error: ${counts.error}, skip: ${counts.skip}`);
    if (output === 'yaml') io.out(produced.map((r) => `---\n${stringify(r, GO_YAML_OPTIONS)}`).join(''));
    if (inputErrors > 0) io.err(`\n${inputErrors} input error(s)`);
    return counts.fail > 0 || counts.error > 0 || inputErrors > 0 ? 1 : 0;
  },
};
