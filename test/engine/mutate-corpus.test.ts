// Conformance cases from the Kyverno policies corpus: a suite's mutate rules applied to its
// resources must give its patchedResources. Only rules that match by kind are run here
// (match/exclude, autogen and context entries belong to other modules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { applyMutateRule } from '../../engine/mutate';
import { evaluateConditions } from '../../engine/conditions';
import type { JsonObject } from '../../engine/core/types';
import { jsonEqual } from '../../engine/core/json';
import { tidy } from '../../engine/testing';

const CORPUS = '/work/shared/conformance/kyverno-policies';

const SUITES = (process.env.MUTATE_CORPUS_SUITES ?? [
  'other/add-tolerations',
  'other/add-labels',
  'other/add-nodeSelector',
  'other/add-pod-priorityclassname',
  'other/add-ttl-jobs',
  'other/always-pull-images',
  'other/add-default-securitycontext',
  'other/add-safe-to-evict',
  'best-practices/add-safe-to-evict',
  'other/disable-automountserviceaccounttoken',
  'other/add-ndots',
  'other/add-imagepullsecrets-for-containers-and-initcontainers',
  'other/mitigate-log4shell',
  'other/add-default-resources',
  'other/prepend-image-registry',
  'other/replace-image-registry',
  'other/remove-hostpath-volumes',
  'other/add-certificates-volume',
  'psp-migration/add-capabilities',
  'psp-migration/add-apparmor',
  'psp-migration/add-runtimeClassName',
  'other/mutate-large-termination-gps',
  'other/add-pod-proxies',
  'other/inject-sidecar-deployment',
  'other/add-volume-deployment',
  'other/add-image-as-env-var',
  'other/spread-pods-across-topology',
  'other/add-imagepullsecrets',
  'psa/add-psa-labels',
  'karpenter/add-karpenter-donot-evict',
  'karpenter/set-karpenter-non-cpu-limits',
  'karpenter/add-karpenter-daemonset-priority-class',
  'castai/add-castai-removal-disabled',
  'velero/backup-all-volumes',
  'kubecost/enable-kubecost-continuous-rightsizing',
  'kasten/kasten-minimum-retention',
  'external-secret-operator/add-external-secret-prefix',
].join(',')).split(',').filter((s) => s !== '');

const readDocs = (path: string): JsonObject[] =>
  parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON() as JsonObject).filter((d) => d && typeof d === 'object');

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/** Kinds a rule's match names (any/all blocks or the legacy form). */
function matchKinds(rule: JsonObject): string[] {
  const match = (rule.match ?? {}) as JsonObject;
  const blocks = [...((match.any ?? []) as JsonObject[]), ...((match.all ?? []) as JsonObject[]), match];
  return blocks.flatMap((b) => asList(((b.resources ?? {}) as JsonObject).kinds));
}

const kindMatches = (kinds: string[], resource: JsonObject): boolean =>
  kinds.some((k) => k === resource.kind || k.endsWith(`/${String(resource.kind)}`));

// Context entries and the `images` variable are built by other engine modules.
const needsOtherModules = (rule: JsonObject): boolean => /"context"|images\./.test(JSON.stringify(rule));

const nameOf = (r: JsonObject): string => String(((r.metadata ?? {}) as JsonObject).name ?? '');

for (const suite of SUITES) {
  const testFile = join(CORPUS, suite, '.kyverno-test', 'kyverno-test.yaml');
  if (!existsSync(testFile)) continue;
  const base = dirname(testFile);
  const spec = readDocs(testFile)[0];
  const policies = asList(spec.policies).flatMap((p) => readDocs(resolve(base, p)));
  const resources = asList(spec.resources).flatMap((p) => readDocs(resolve(base, p)));
  for (const expected of (spec.results ?? []) as JsonObject[]) {
    const policy = policies.find((p) => ((p.metadata ?? {}) as JsonObject).name === expected.policy);
    const rules = (((policy?.spec ?? {}) as JsonObject).rules ?? []) as JsonObject[];
    const patchedDocs = typeof expected.patchedResources === 'string' ? readDocs(resolve(base, expected.patchedResources)) : [];
    for (const name of asList(expected.resources)) {
      const resource = resources.find((r) => nameOf(r) === name.split('/').pop() && (!expected.kind || r.kind === expected.kind));
      const want = patchedDocs.find((r) => nameOf(r) === nameOf(resource ?? {}) && r.kind === resource?.kind);
      const runnable = rules.filter((r) => r.mutate && resource && kindMatches(matchKinds(r), resource));
      if (!resource || !runnable.some((r) => r.name === expected.rule) || runnable.some(needsOtherModules)) continue;
      test(`${suite}: ${expected.rule} on ${name} is ${expected.result}`, () => {
        // kyverno test puts namespaced resources without a namespace into "default".
        const wantNs = ((want?.metadata ?? {}) as JsonObject).namespace;
        const meta = (resource.metadata ?? {}) as JsonObject;
        let current = wantNs && !meta.namespace ? { ...resource, metadata: { ...meta, namespace: wantNs } } : resource;
        const statuses = new Map<string, string>();
        for (const rule of runnable) {
          const scope = { data: { request: { operation: 'CREATE', object: current, namespace: '' } } as JsonObject };
          if (rule.preconditions && !evaluateConditions(rule.preconditions, scope).passed) {
            statuses.set(String(rule.name), 'skip');
            continue;
          }
          const outcome = applyMutateRule(rule, current, scope);
          assert.notEqual(outcome.result.status, 'error', outcome.result.message);
          statuses.set(String(rule.name), outcome.result.status);
          current = outcome.patched;
        }
        // A `fail` row with patchedResources means the rule applied but the result differs from the file.
        // (or that the file has no resource of that name).
        if (expected.result === 'fail' && patchedDocs.length > 0) {
          assert.equal(statuses.get(String(expected.rule)), 'pass');
          const matches = want !== undefined && jsonEqual(tidy(current), tidy(want));
          assert.equal(matches, false, 'the patched resource unexpectedly matches');
          return;
        }
        assert.equal(statuses.get(String(expected.rule)), expected.result);
        if (want) assert.deepEqual(tidy(current), tidy(want), `got ${JSON.stringify(current)}`);
      });
    }
  }
}

