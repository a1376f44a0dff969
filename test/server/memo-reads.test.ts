// Property-based test (fast-check) of the response memo's read tracking on real corpus data:
// the whole sample library as the workspace, a manifest of the library's tests, and random
// edits of it (a value changed to another of any type, a key removed, a label added). After
// every edit, the run that reuses responses (ResponseMemo: a response is reused when every
// read of its evaluation reads the same) gives exactly what a fresh run gives, policy by
// policy: rules, messages, paths, patched resources, errors. Fixed seed in `npm test`;
// `npm run fuzz` runs more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { evaluateResources, offlineCluster, ResponseMemo, type EngineResponse } from '../../engine/evaluate';
import { parseFile, workspacePolicies, policySet, manifestResources, type WorkspacePolicy } from '../../server/src/service';
import { walkFiles } from '../../io/walk';
import { corpusDir } from '../fixtures/corpus-cases';
import type { JsonObject } from '../../engine/core/types';

const seed = Number(process.env.FUZZ_SEED ?? 20261206);
// Each run evaluates the whole library (twice): a tenth of `npm run fuzz`'s runs.
const runs = (n: number) => (process.env.FUZZ_RUNS ? Math.max(n, Math.ceil(Number(process.env.FUZZ_RUNS) / 10)) : n);
const now = new Date('2026-01-01T00:00:00Z');

/** Everything a run answers, as text (responses in order, with the objects they carry). */
function answer(responses: EngineResponse[]): string[] {
  return responses.map((r) => JSON.stringify({ policy: r.policy, error: r.error, rules: r.rules, resource: r.resource, patched: r.patchedResource }));
}

type Path = Array<string | number>;

/** Every path of a JSON value (containers and leaves), root excluded. */
function pathsOf(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    const path = [...at, k];
    out.push(path);
    pathsOf(v, path, out);
  }
  return out;
}

type Edit = { op: 'set'; pick: number; value: unknown } | { op: 'delete'; pick: number } | { op: 'label'; key: string; value: string };

/** The resource with the edit applied (a new object; the original stays as it was). */
function edited(resource: JsonObject, edit: Edit): JsonObject {
  const copy = structuredClone(resource) as Record<string, any>;
  if (edit.op === 'label') {
    copy.metadata = { ...copy.metadata, labels: { ...(copy.metadata?.labels ?? {}), [edit.key]: edit.value } };
    return copy;
  }
  const paths = pathsOf(copy).filter((p) => !(p.length === 1 && (p[0] === 'apiVersion' || p[0] === 'kind')));
  if (!paths.length) return copy;
  const path = paths[edit.pick % paths.length];
  const parent = path.slice(0, -1).reduce((o: any, k) => o[k], copy);
  const key = path[path.length - 1];
  if (edit.op === 'set') parent[key] = structuredClone(edit.value);
  else if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return copy;
}

const scalar = fc.oneof(
  fc.constantFrom('latest', 'nginx:1.27', 'true', 'false', 'default', 'kube-system', '', 'Always', 'privileged', 'RuntimeDefault', '100m', '1Gi'),
  fc.boolean(),
  fc.integer({ min: -2, max: 70000 }),
  fc.constant(null),
);
const value = fc.oneof(scalar, fc.constant({}), fc.constant([]), fc.dictionary(fc.constantFrom('name', 'image', 'app', 'runAsNonRoot', 'drop'), scalar, { maxKeys: 2 }));
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('label' as const), key: fc.constantFrom('app', 'team', 'app.kubernetes.io/name', 'owner'), value: fc.constantFrom('web', 'x', '') }),
);

test('after random edits of corpus manifests, responses reused by their reads equal a fresh evaluation', (t) => {
  const corpus = corpusDir(t, 'kyverno-policies');
  if (!corpus) return;
  const { files } = walkFiles(corpus, { keep: (name) => /\.ya?ml$/.test(name) });
  const workspace: WorkspacePolicy[] = [];
  const manifests: JsonObject[] = [];
  for (const f of files.sort()) {
    const file = parseFile(`file://${f}`, readFileSync(f, 'utf8'));
    const policies = workspacePolicies(file);
    workspace.push(...policies);
    if (!policies.length && /\.kyverno-test\//.test(f) && !/kyverno-test\.yaml$/.test(f)) manifests.push(...manifestResources(file));
  }
  const set = policySet(workspace);
  assert.ok(manifests.length > 100, `${manifests.length} manifests`);
  const run = (resource: JsonObject, memo?: ResponseMemo) =>
    answer(evaluateResources({ policies: set.policies, resources: [resource], cluster: offlineCluster({ resources: [resource] }), candidates: set.index, now, memo })[0].responses);
  // One memo per manifest, kept across the edits: it sees the original and every edit of it.
  const memos = new Map<number, ResponseMemo>();
  let reused = 0;
  fc.assert(fc.property(fc.nat(manifests.length - 1), fc.array(edit, { minLength: 1, maxLength: 3 }), (index, edits) => {
    let memo = memos.get(index);
    if (!memo) {
      memos.set(index, (memo = new ResponseMemo()));
      run(manifests[index], memo);
    }
    let resource = manifests[index];
    for (const e of edits) {
      resource = edited(resource, e);
      const hits = memo.hits;
      assert.deepEqual(run(resource, memo), run(resource));
      reused += memo.hits - hits;
    }
  }), { seed, numRuns: runs(25), includeErrorInReport: true });
  assert.ok(reused > 0, 'some responses were reused');
});
