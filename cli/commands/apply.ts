/** `kyverno-studio apply POLICY... --resource FILE...`: like `kyverno apply`, offline. */
import { stringify } from 'yaml';
import type { JsonObject, RequestInfo, TestValues } from '../../engine/core/types';
import { GO_YAML_OPTIONS } from '../../engine/loader';
import {
  checkPolicyShape,
  checkResourceShape,
  emptyCluster,
  evaluateResource,
  namespaceLabelsOf,
  toRequestInfo,
  toTestValues,
  withDefaultNamespace,
} from '../../engine/testing';
import { parseCommandArgs, single } from '../args';
import { classifyDocument, readDocuments } from '../io/documents';
import { countAndDescribe, type ResultCounts } from './apply-report';
import type { Command, CommandIO } from './command';
import { errorText } from './command';

const USAGE = `Usage: kyverno-studio apply POLICY... --resource FILE... [flags]

Applies policies (files or folders) to resources and prints the results.

Flags:
  -r, --resource PATH      resource file or folder (repeatable)
  -f, --values PATH        cli.kyverno.io Values file (alias --values-file)
  -u, --userinfo PATH      cli.kyverno.io UserInfo file
  -o, --output yaml        print the resulting (mutated and generated) resources as YAML
      --audit-warn         report failures of Audit policies as warnings
  -h, --help               show this help`;

function countRules(policy: JsonObject): number {
  const spec = typeof policy.spec === 'object' && policy.spec !== null ? (policy.spec as JsonObject) : {};
  return Array.isArray(spec.rules) ? spec.rules.length : 1;
}

function loadSingle(path: string | undefined, what: string, io: CommandIO): JsonObject | undefined | null {
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

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Apply policies to resources (like `kyverno apply`)',
  usage: USAGE,
  run(argv: string[], io: CommandIO): number {
    const args = parseCommandArgs(argv, {
        values: ['resource', 'values', 'values-file', 'userinfo', 'output'],
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
    if (args.positionals.length === 0 || resourcePaths.length === 0) {
      io.err(`Error: at least one policy and one --resource are required\n${USAGE}`);
      return 2;
    }
    let inputErrors = 0;
    const cluster = emptyCluster();
    const policies: JsonObject[] = [];
    const policyRead = readDocuments(args.positionals);
    for (const e of policyRead.errors) (io.err(`Error: ${e}`), inputErrors++);
    for (const doc of policyRead.documents) {
      const cls = classifyDocument(doc.value);
      try {
        if (cls === 'policy') policies.push(checkPolicyShape(doc));
        else if (cls === 'exception') cluster.exceptions.push(doc.value as JsonObject);
        else if (cls === 'binding') cluster.resources.push(doc.value as JsonObject);
        else io.err(`Warning: ${doc.file}:${doc.line}: not a policy (${cls}), ignored`);
      } catch (err) {
        io.err(`Error: ${errorText(err)}`);
        inputErrors++;
      }
    }
    const resources: JsonObject[] = [];
    const resourceRead = readDocuments(resourcePaths);
    for (const e of resourceRead.errors) (io.err(`Error: ${e}`), inputErrors++);
    for (const doc of resourceRead.documents) {
      try {
        resources.push(withDefaultNamespace(checkResourceShape(doc)));
      } catch (err) {
        io.err(`Error: ${errorText(err)}`);
        inputErrors++;
      }
    }
    let values: TestValues | undefined;
    const valuesDoc = loadSingle(single(args, 'values') ?? single(args, 'values-file'), 'Values', io);
    if (valuesDoc === null) inputErrors++;
    else if (valuesDoc) {
      values = toTestValues(valuesDoc);
      Object.assign(cluster.namespaceLabels, namespaceLabelsOf(values));
    }
    let requestInfo: RequestInfo | undefined;
    const userDoc = loadSingle(single(args, 'userinfo'), 'UserInfo', io);
    if (userDoc === null) inputErrors++;
    else if (userDoc) requestInfo = toRequestInfo(userDoc);

    const ruleCount = policies.reduce((n, p) => n + countRules(p), 0);
    io.out(`\nApplying ${ruleCount} policy rule(s) to ${resources.length} resource(s)...`);
    const counts: ResultCounts = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    const byName = new Map(policies.map((p) => [String((p.metadata as JsonObject).name), p]));
    const produced: JsonObject[] = [];
    for (const resource of resources) {
      const evaluation = evaluateResource({ policies, resources, cluster, values, requestInfo }, resource);
      countAndDescribe(evaluation.responses, byName, args.booleans.has('audit-warn'), counts, io.out);
      produced.push(evaluation.patched);
      for (const r of evaluation.responses) for (const rule of r.rules) produced.push(...(rule.generatedResources ?? []));
    }
    io.out(`\npass: ${counts.pass}, fail: ${counts.fail}, warn: ${counts.warn}, error: ${counts.error}, skip: ${counts.skip}`);
    if (output === 'yaml') io.out(produced.map((r) => `---\n${stringify(r, GO_YAML_OPTIONS)}`).join(''));
    if (inputErrors > 0) io.err(`\n${inputErrors} input error(s)`);
    return counts.fail > 0 || counts.error > 0 || inputErrors > 0 ? 1 : 0;
  },
};
