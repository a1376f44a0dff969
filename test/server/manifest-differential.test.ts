// Differential test: for every resource file of both shared corpora's tests (the sample-policy
// library and Kyverno's CLI suite), the language service's manifest evaluation (workspace = the
// test's policy files) gives the same per-rule results and patched resource as
// `kyverno-studio apply POLICIES --resource FILE`; every violation the editor underlines is
// the range the extension's results view selects for the same result (client/src/yaml/locate);
// and the diagnostics are the same with the kind index as with every policy evaluated. A last
// test takes the whole library as the workspace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { EngineResponse } from '../../engine/evaluate';
import { applyFiles } from '../../cli/commands/apply';
import { yamlFilesAt } from '../../cli/io/files';
import { parseFile, workspacePolicies, evaluateManifestDocuments, evaluateManifests, manifestDiagnostics, policySet, type ParsedFile, type ManifestEvaluation, type WorkspacePolicy } from '../../server/src/service';
import { walkFiles } from '../../io/walk';
import { corpusCases, corpusDir } from '../fixtures/corpus-cases';
import { Codes } from '../../server/src/service/codes';
import { readFileContents } from '../../client/src/policies/documents';
import { locateInText, positionsOf } from '../../client/src/yaml/locate';

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

/** Where the editor underlines each violation, and where the results view selects the same results. */
function violationRanges(file: ParsedFile, evaluations: ManifestEvaluation[]): { editor: unknown[]; client: unknown[] } {
  const violation = new Set<string>([Codes.violationEnforce, Codes.violationAudit]);
  const editor = evaluations.flatMap((ev) => manifestDiagnostics(file, ev)).filter((d) => violation.has(String(d.code))).map((d) => d.range);
  const located = readFileContents(file.text).resources;
  const at = positionsOf(file.text);
  const client = evaluations.flatMap((ev) => {
    const docIndex = file.docs.indexOf(ev.pd);
    const resource = located.find((r) => r.location.docIndex === docIndex && r.location.itemPath.join('/') === ev.itemPath.join('/'));
    return ev.responses.flatMap((response) => (response.error !== undefined ? [] : response.rules))
      .filter((r) => r.status === 'fail' || r.status === 'warn')
      .map((r) => {
        const span = resource && locateInText(file.text, resource.location, r.path ?? []);
        return span ? { start: at(span.start), end: at(span.end) } : 'not located by the extension';
      });
  });
  return { editor, client };
}

for (const { name, minimum } of CORPORA) test(`the language service's manifest results equal apply's on every ${name} resource file`, (t) => {
  const corpus = corpusDir(t, name);
  if (!corpus) return;
  const mismatches: string[] = [];
  let compared = 0;
  let located = 0;
  // The policy files of one test are read once for all its resource files.
  const workspaces = new Map<string, WorkspacePolicy[]>();
  for (const { where, policyPaths, resourceFile: file } of corpusCases(corpus)) {
    const key = policyPaths.join('\n');
    let workspace = workspaces.get(key);
    if (!workspace) {
      workspace = policyPaths.flatMap((p) => yamlFilesAt(p)).flatMap((f) => workspacePolicies(parseFile(`file://${f}`, readFileSync(f, 'utf8'))));
      workspaces.set(key, workspace);
    }
    const applied = applyFiles({ policyPaths, resourcePaths: [file] }, { err: () => undefined }, { now });
    const parsedFile = parseFile(`file://${file}`, readFileSync(file, 'utf8'));
    const editor = evaluateManifestDocuments(parsedFile, workspace, { now, maxDocuments: Infinity });
    compared++;
    const everyPolicy = evaluateManifests(parsedFile, workspace, { now, maxDocuments: Infinity, allPolicies: true });
    const indexed = evaluateManifests(parsedFile, workspace, { now, maxDocuments: Infinity });
    if (JSON.stringify(indexed) !== JSON.stringify(everyPolicy)) mismatches.push(`${where}: the kind index changes the diagnostics`);
    const ranges = violationRanges(parsedFile, editor);
    located += ranges.editor.length;
    try {
      assert.deepEqual(ranges.client, ranges.editor);
    } catch (e) {
      mismatches.push(`${where}: the results view and the diagnostics place violations differently: ${(e as Error).message.split('\n').slice(0, 12).join(' ')}`);
    }
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
  assert.ok(compared > minimum, `only ${compared} resource files compared`);
  assert.ok(located > minimum / 4, `only ${located} violations located`);
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} resource files differ`);
});

// Every SAMPLE-th resource file of the library's tests against the whole library (about 700
// policies, their mutations chaining): the kind index must not change a diagnostic.
const SAMPLE = 10;

test('with the whole sample library as the workspace, the kind index gives the diagnostics of every policy', (t) => {
  const corpus = corpusDir(t, 'kyverno-policies');
  if (!corpus) return;
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
