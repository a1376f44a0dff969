/**
 * Drafts a `kyverno-test.yaml` (cli.kyverno.io/v1alpha1 Test) for a policy file and the
 * resources it was run on. Expected results are today's engine results: the user reviews
 * them, the test then guards them. Pure (no vscode).
 */
import { stringify } from 'yaml';
import type { JsonObject } from '../../../engine/core/types';
import { reportResult } from '../../../engine/testing';
import { GO_YAML_OPTIONS } from '../../../engine/loader';
import { objectName, objectNamespace } from '../policies/documents';
import type { RunReport } from '../run/report';

/** Test result flags Kyverno uses for the CEL kinds (their results have no rule). */
const CEL_FLAGS: Record<string, string> = {
  ValidatingPolicy: 'isValidatingPolicy',
  NamespacedValidatingPolicy: 'isValidatingPolicy',
  MutatingPolicy: 'isMutatingPolicy',
  NamespacedMutatingPolicy: 'isMutatingPolicy',
  GeneratingPolicy: 'isGeneratingPolicy',
  NamespacedGeneratingPolicy: 'isGeneratingPolicy',
  DeletingPolicy: 'isDeletingPolicy',
  NamespacedDeletingPolicy: 'isDeletingPolicy',
  ImageValidatingPolicy: 'isImageValidatingPolicy',
  NamespacedImageValidatingPolicy: 'isImageValidatingPolicy',
  ValidatingAdmissionPolicy: 'isValidatingAdmissionPolicy',
  MutatingAdmissionPolicy: 'isMutatingAdmissionPolicy',
};

export interface ScaffoldInput {
  name: string;
  /** Paths relative to the test file's folder, '/'-separated. */
  policyPaths: string[];
  resourcePaths: string[];
  report: RunReport;
}

/** How a test names a resource: `name`, or `namespace/name` outside the default namespace. */
function resourceName(resource: JsonObject): string {
  const ns = objectNamespace(resource);
  return ns && ns !== 'default' ? `${ns}/${objectName(resource)}` : objectName(resource);
}

interface ResultEntry {
  policy: string;
  rule?: string;
  kind: string;
  result: string;
  resources: string[];
  [flag: string]: unknown;
}

export function scaffoldTest(input: ScaffoldInput): string {
  const grouped = new Map<string, ResultEntry>();
  for (const run of input.report.runs) {
    for (const response of run.responses) {
      const policy = response.policy.namespace ? `${response.policy.namespace}/${response.policy.name}` : response.policy.name;
      const flag = CEL_FLAGS[response.policy.kind];
      for (const rule of response.rules) {
        const result = reportResult(response, rule);
        const kind = String(run.resource.kind ?? '');
        const key = JSON.stringify([policy, rule.name, kind, result]);
        let entry = grouped.get(key);
        if (!entry) {
          entry = { policy, ...(flag || !rule.name ? {} : { rule: rule.name }), kind, result, resources: [] };
          if (flag) entry[flag] = true;
          grouped.set(key, entry);
        }
        const name = resourceName(run.resource);
        if (!entry.resources.includes(name)) entry.resources.push(name);
      }
    }
  }
  const doc = {
    apiVersion: 'cli.kyverno.io/v1alpha1',
    kind: 'Test',
    metadata: { name: input.name },
    policies: input.policyPaths,
    resources: input.resourcePaths,
    results: [...grouped.values()],
  };
  const header =
    '# Drafted by Kyverno Studio from the current engine results: review every expected\n' +
    '# `result` below before relying on this test.\n';
  return header + stringify(doc, { ...GO_YAML_OPTIONS, lineWidth: 0 });
}

/** `a/b/c` relative to folder `a/x` → `../b/c` (both '/'-separated and absolute). */
export function relativePath(fromFolder: string, to: string): string {
  const from = fromFolder.split('/').filter(Boolean);
  const target = to.split('/').filter(Boolean);
  let i = 0;
  while (i < from.length && i < target.length && from[i] === target[i]) i++;
  const up = from.slice(i).map(() => '..');
  const rel = [...up, ...target.slice(i)].join('/');
  return rel || '.';
}
