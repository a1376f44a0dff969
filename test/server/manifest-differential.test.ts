// Differential test: for every resource file of both shared corpora's tests (the sample-policy
// library and Kyverno's CLI suite), the language service's manifest evaluation (workspace = the
// test's policy files) gives the same per-rule results and patched resource as
// `kyverno-studio apply POLICIES --resource FILE`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseYamlDocuments } from '../../engine/loader';
import { readTestSpec } from '../../engine/testing';
import type { EngineResponse } from '../../engine/evaluate';
import { applyFiles } from '../../cli/commands/apply';
import { findTestFiles, yamlFilesAt } from '../../cli/io/files';
import { parseFile, workspacePolicies, evaluateManifestDocuments } from '../../server/src/service';

const CORPORA = [
  { name: 'kyverno-policies', minimum: 300 },
  { name: 'kyverno-cli', minimum: 100 },
];
const now = new Date('2026-01-01T00:00:00Z');

/** What a run says about one resource, without the objects themselves. */
function outcome(responses: EngineResponse[]): unknown[] {
  return responses.map((r) => ({
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
        const editor = evaluateManifestDocuments(parseFile(`file://${file}`, readFileSync(file, 'utf8')), workspace, { now, maxDocuments: Infinity });
        compared++;
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
