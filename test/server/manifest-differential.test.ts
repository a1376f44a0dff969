// Differential test: for every resource file of both shared corpora's tests (the sample-policy
// library and Kyverno's CLI suite), the language service's manifest evaluation (workspace = the
// test's policy files) gives the same per-rule results and patched resource as
// `kyverno-studio apply POLICIES --resource FILE`, and the same diagnostics with the kind index
// as with every policy evaluated. A last test takes the whole library as the workspace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseYamlDocuments } from '../../engine/loader';
import { readTestSpec } from '../../engine/testing';
import type { EngineResponse } from '../../engine/evaluate';
import { applyFiles } from '../../cli/commands/apply';
import { findTestFiles, yamlFilesAt } from '../../cli/io/files';
import { parseFile, workspacePolicies, evaluateManifestDocuments, evaluateManifests, policySet, type WorkspacePolicy } from '../../server/src/service';
import { walkFiles } from '../../io/walk';

const CORPORA = [
  { name: 'kyverno-policies', minimum: 300 },
  { name: 'kyverno-cli', minimum: 100 },
];
const now = new Date('2026-01-01T00:00:00Z');

/**
 * What a run says about one resource, without the objects themselves. Answers without rules
 * (a Kyverno policy that did not match) say nothing: the editor does not evaluate policies
 * that cannot select the resource's kind, so it has none of them.
 */
function outcome(responses: EngineResponse[]): unknown[] {
  return responses.filter((r) => r.rules.length > 0 || r.error !== undefined).map((r) => ({
    policy: `${r.policy.kind}/${r.policy.name}`,
    error: r.error,
    rules: r.rules.map((x) => ({ name: x.name, type: x.type, status: x.status, message: x.message, path: x.path, failureAction: x.failureAction })),
  }));
}

for (const { name, minimum } of CORPORA) test(`the language service's manifest results equal apply's on every ${name} resource file`, (t) => {
  const corpus = resolve(__dirname, '../../../shared/conformance', name);
  if (!existsSync(corpus)) {
    t.skip(`corpus not found at ${corpus}`);
    return;
  }
  const mismatches: string[] = [];
  let compared = 0;
  for (const testFile of findTestFiles([corpus], 'kyverno-test.yaml').files) {
    const parsed = parseYamlDocuments(readFileSync(testFile, 'utf8'), testFile);
    let spec;
    try {
      spec = readTestSpec(parsed.documents[0]?.value);
    } catch {
      continue;
    }
    const base = dirname(testFile);
    const policyPaths = spec.policies.map((p) => resolve(base, p));
    if (!policyPaths.every(existsSync)) continue;
    const workspace = policyPaths.flatMap((p) => yamlFilesAt(p)).flatMap((f) => workspacePolicies(parseFile(`file://${f}`, readFileSync(f, 'utf8'))));
    for (const resourcePath of new Set(spec.resources.map((p) => resolve(base, p)))) {
      if (!existsSync(resourcePath)) continue;
      for (const file of yamlFilesAt(resourcePath)) {
        const where = `${relative(corpus, testFile)} on ${relative(corpus, file)}`;
        const applied = applyFiles({ policyPaths, resourcePaths: [file] }, { err: () => undefined }, { now });
        const parsedFile = parseFile(`file://${file}`, readFileSync(file, 'utf8'));
        const editor = evaluateManifestDocuments(parsedFile, workspace, { now, maxDocuments: Infinity });
        compared++;
        const everyPolicy = evaluateManifests(parsedFile, workspace, { now, maxDocuments: Infinity, allPolicies: true });
        const indexed = evaluateManifests(parsedFile, workspace, { now, maxDocuments: Infinity });
        if (JSON.stringify(indexed) !== JSON.stringify(everyPolicy)) mismatches.push(`${where}: the kind index changes the diagnostics`);
        if (applied.evaluations.length !== editor.length) {
          mismatches.push(`${where}: apply evaluated ${applied.evaluations.length} resource(s), the editor ${editor.length}`);
          continue;
        }
        applied.evaluations.forEach((ev, i) => {
          try {
            assert.deepEqual(outcome(editor[i].responses), outcome(ev.responses));
            assert.deepEqual(editor[i].patched, ev.patched);
          } catch (e) {
            mismatches.push(`${where} #${i}: ${(e as Error).message.split('\n').slice(0, 12).join(' ')}`);
          }
        });
      }
    }
  }
  assert.ok(compared > minimum, `only ${compared} resource files compared`);
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} resource files differ`);
});

// Every SAMPLE-th resource file of the library's tests against the whole library (about 700
// policies, their mutations chaining): the kind index must not change a diagnostic.
const SAMPLE = 10;

test('with the whole sample library as the workspace, the kind index gives the diagnostics of every policy', (t) => {
  const corpus = resolve(__dirname, '../../../shared/conformance/kyverno-policies');
  if (!existsSync(corpus)) {
    t.skip(`corpus not found at ${corpus}`);
    return;
  }
  const { files } = walkFiles(corpus, { keep: (name) => /\.ya?ml$/.test(name) });
  const workspace: WorkspacePolicy[] = [];
  const resourceFiles: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const policies = workspacePolicies(parseFile(`file://${f}`, text));
    workspace.push(...policies);
    if (!policies.length && /\.kyverno-test\//.test(f) && !/kyverno-test\.yaml$/.test(f)) resourceFiles.push(f);
  }
  const set = policySet(workspace);
  assert.ok(set.policies.length > 500, `${set.policies.length} policies`);
  const sample = resourceFiles.filter((_, i) => i % SAMPLE === 0);
  const mismatches: string[] = [];
  let diagnostics = 0;
  for (const file of sample) {
    const parsedFile = parseFile(`file://${file}`, readFileSync(file, 'utf8'));
    // The first documents of each file: a few resource files hold dozens.
    const everyPolicy = evaluateManifests(parsedFile, set, { now, maxDocuments: 4, allPolicies: true });
    const indexed = evaluateManifests(parsedFile, set, { now, maxDocuments: 4 });
    diagnostics += everyPolicy.length;
    try {
      assert.deepEqual(indexed, everyPolicy);
    } catch (e) {
      mismatches.push(`${relative(corpus, file)}: ${(e as Error).message.split('\n').slice(0, 12).join(' ')}`);
    }
  }
  assert.deepEqual(mismatches, []);
  assert.ok(sample.length > 60 && diagnostics > 1000, `${sample.length} files, ${diagnostics} diagnostics`);
});
