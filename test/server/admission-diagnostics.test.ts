// What Kyverno's admission refuses is shown in the editor (KS1213) at the value at fault, from
// the same verdict the webhook aggregates and the CLI prints (engine admissionVerdict), and
// it leaves every other diagnostic in place. Property test: fixed seed in `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { isMap, isScalar, isSeq, type Node as YamlNode, type Pair } from 'yaml';
import { parseFile, validateFile, Codes, type Diagnostic, type ParsedFile } from '../../server/src/service';
import { findPath, rangeForPath } from '../../server/src/service/documents';
import { admissionVerdict } from '../../engine/policy/admission';
import { isJsonObject } from '../../engine/core/json';
import { DEFAULT_CORPUS, policyFiles } from '../../server/tools/corpus-check';

const seed = Number(process.env.FUZZ_SEED ?? 20261207);
const runs = (n: number) => Number(process.env.FUZZ_RUNS ?? n);
const skip = existsSync(DEFAULT_CORPUS) ? false : `conformance corpus not found at ${DEFAULT_CORPUS}`;

const at = (d: Diagnostic) => `${d.range.start.line}:${d.range.start.character}`;

test('a value Kyverno\'s admission refuses has a KS1213 diagnostic at that value, with Kyverno\'s message', () => {
  const text = [
    'apiVersion: kyverno.io/v1',
    'kind: ClusterPolicy',
    'metadata:',
    '  name: p',
    'spec:',
    '  webhookTimeoutSeconds: 40',
    '  background: false',
    '  rules:',
    '  - name: r',
    '    match:',
    '      any:',
    '      - resources:',
    '          kinds: [Pod]',
    '        subjects:',
    '        - kind: Robot',
    '          name: x',
    '    validate:',
    '      message: m',
    '      pattern:',
    '        metadata:',
    '          name: "?*"',
    '  - name: r',
    '    match:',
    '      any:',
    '      - resources:',
    '          kinds: [Pod]',
    '    validate:',
    '      message: m',
    '      deny: {}',
    '',
  ].join('\n');
  const diagnostics = validateFile(parseFile('file:///p.yaml', text));
  const admission = diagnostics.filter((d) => d.code === Codes.admissionRejected);
  assert.deepEqual(admission.map((d) => [at(d), d.message]), [
    ['5:25', 'spec.webhookTimeoutSeconds: Invalid value: 40: the timeout value must be between 1 and 30 seconds'],
    ['14:16', 'spec.rules[0].match.any[0].subjects[0].kind: Invalid value: "Robot": kind must be \'User\', \'Group\', or \'ServiceAccount\''],
  ]);
  assert.ok(admission.every((d) => d.severity === 1));
  // The other checks keep theirs (the duplicate rule name).
  assert.ok(diagnostics.some((d) => d.code === Codes.duplicateRule && at(d) === '21:10'), JSON.stringify(diagnostics));
});

test('CEL policies and exceptions get their admission diagnostics too', () => {
  const mpol = 'apiVersion: policies.kyverno.io/v1\nkind: MutatingPolicy\nmetadata:\n  name: m\nspec:\n  matchConstraints:\n    resourceRules: []\n  evaluation:\n    admission:\n      enabled: false\n  mutations:\n  - patchType: ApplyConfiguration\n    applyConfiguration:\n      expression: "Object{}"\n';
  const found = validateFile(parseFile('file:///m.yaml', mpol)).filter((d) => d.code === Codes.admissionRejected);
  assert.deepEqual(found.map((d) => d.message), [
    'spec.matchConstraints: Required value: a matchConstraints with at least one resource rule is required',
    'spec.evaluation: Forbidden: disabling both admission and mutateExisting evaluation modes is not allowed',
  ]);
  assert.deepEqual(found.map(at), ['5:2', '7:2']);
  // Subjects in a background exception (the default): the CRD schema allows them, Kyverno's webhook does not.
  const polex = 'apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata:\n  name: e\n  namespace: team\nspec:\n  exceptions:\n  - policyName: p\n    ruleNames: [r]\n  match:\n    any:\n    - resources:\n        kinds: [Pod]\n      subjects:\n      - kind: User\n        name: chip\n';
  const exception = validateFile(parseFile('file:///e.yaml', polex)).filter((d) => d.code === Codes.admissionRejected);
  assert.deepEqual(exception.map((d) => [at(d), d.message]), [['13:6', 'spec.match.any[0].subjects: Forbidden: Usage of user info is forbidden']]);
  // A refusal the CRD schema already reports at the same place is not said twice.
  const noPolicyName = validateFile(parseFile('file:///e.yaml', polex.replace('  - policyName: p\n    ruleNames', '  - ruleNames')));
  assert.deepEqual(noPolicyName.filter((d) => at(d) === '7:4').map((d) => d.code), [Codes.missingRequired]);
});

/** Single-document classic corpus policies, a spread of them, read once. */
function corpusPolicies(count: number): Array<{ file: string; text: string }> {
  if (skip) return [];
  const all = policyFiles(DEFAULT_CORPUS)
    .map((file) => ({ file, text: readFileSync(file, 'utf8') }))
    .filter(({ text }) => !/^---/m.test(text.trim().slice(3)) && text.length < 12000 && /^kind: (Cluster)?Policy\s*$/m.test(text))
    .sort((a, b) => (a.file < b.file ? -1 : 1));
  const step = Math.max(1, Math.floor(all.length / count));
  return all.filter((_, i) => i % step === 0).slice(0, count);
}

/** A change to a policy's text: the new text and the line it touched (inserted before, or replaced in place). */
interface Edit { text: string; line: number; inserted: boolean }

function lineOf(text: string, offset: number): number {
  let line = 0;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** A new key as the first entry of the block mapping at `path`, with its indentation. */
function insertFirst(file: ParsedFile, path: Array<string | number>, line: string): Edit | undefined {
  const node = findPath(file.docs[0].doc, path).value;
  if (!isMap(node) || node.flow) return undefined;
  const first = (node.items as Pair<YamlNode, YamlNode>[])[0];
  const keyStart = first?.key?.range?.[0];
  if (keyStart === undefined) return undefined;
  const lineStart = file.text.lastIndexOf('\n', keyStart - 1) + 1;
  const indent = file.text.slice(lineStart, keyStart);
  if (!/^ *$/.test(indent)) return undefined;
  return { text: `${file.text.slice(0, lineStart)}${indent}${line}\n${file.text.slice(lineStart)}`, line: lineOf(file.text, lineStart), inserted: true };
}

/** A plain scalar replaced in place. */
function replaceScalar(file: ParsedFile, node: YamlNode | null | undefined, value: string): Edit | undefined {
  if (!isScalar(node) || node.type !== 'PLAIN' || !node.range) return undefined;
  const [start, end] = node.range;
  return { text: `${file.text.slice(0, start)}${value}${file.text.slice(end)}`, line: lineOf(file.text, start), inserted: false };
}

/** The plain kinds of every match filter of every rule, as nodes. */
function matchKinds(file: ParsedFile): YamlNode[] {
  const out: YamlNode[] = [];
  const rules = findPath(file.docs[0].doc, ['spec', 'rules']).value;
  if (!isSeq(rules)) return out;
  rules.items.forEach((_, i) => {
    for (const block of ['any', 'all']) {
      const filters = findPath(file.docs[0].doc, ['spec', 'rules', i, 'match', block]).value;
      if (!isSeq(filters)) continue;
      filters.items.forEach((__, j) => {
        const kinds = findPath(file.docs[0].doc, ['spec', 'rules', i, 'match', block, j, 'resources', 'kinds']).value;
        if (isSeq(kinds)) out.push(...(kinds.items as YamlNode[]));
      });
    }
  });
  return out;
}

type Mutation = (file: ParsedFile) => Edit | undefined;

const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  fc.oneof(fc.integer({ min: 31, max: 100_000 }), fc.integer({ min: -100, max: 0 })).map((n): Mutation => (file) => {
    const spec = findPath(file.docs[0].doc, ['spec']).value;
    if (isMap(spec) && (spec.has('webhookTimeoutSeconds') || spec.has('webhookConfiguration'))) return undefined;
    return insertFirst(file, ['spec'], `webhookTimeoutSeconds: ${n}`);
  }),
  fc.constant<Mutation>((file) => {
    const spec = findPath(file.docs[0].doc, ['spec']).value;
    return isMap(spec) && spec.has('generateExistingOnPolicyUpdate') ? undefined : insertFirst(file, ['spec'], 'generateExistingOnPolicyUpdate: true');
  }),
  fc.integer({ min: 64, max: 100 }).map((n): Mutation => (file) => replaceScalar(file, findPath(file.docs[0].doc, ['metadata', 'name']).value, 'n'.repeat(n))),
  fc.nat().map((k): Mutation => (file) => {
    const kinds = matchKinds(file);
    return kinds.length ? replaceScalar(file, kinds[k % kinds.length], '"*"') : undefined;
  }),
);

test('property: each admission error of a mutated corpus policy has a diagnostic at its value; the unchanged parts keep theirs', { skip }, () => {
  const policies = corpusPolicies(60).map((p) => ({ ...p, parsed: parseFile(`file://${p.file}`, p.text) }));
  assert.ok(policies.length >= 30, `only ${policies.length} corpus policies`);
  const before = new Map(policies.map((p) => [p.file, validateFile(p.parsed)]));
  let checked = 0;
  fc.assert(fc.property(fc.nat({ max: policies.length - 1 }), mutations, (i, mutate) => {
    const policy = policies[i];
    const edit = mutate(policy.parsed);
    if (!edit) return;
    const file = parseFile(`file://${policy.file}`, edit.text);
    const pd = file.docs[0];
    assert.ok(pd && isJsonObject(pd.value));
    const verdict = admissionVerdict(pd.value);
    assert.ok(verdict, 'a classic policy has a verdict');
    // A wildcard kind is refused only in some rules (background, several kinds, some rule types).
    if (verdict.errors.length === 0) return;
    const diagnostics = validateFile(file);
    const places = new Set(diagnostics.map(at));
    for (const e of verdict.errors) {
      const where = rangeForPath(file, pd, [...e.path]);
      const place = `${where.start.line}:${where.start.character}`;
      assert.ok(places.has(place), `no diagnostic at ${place} for "${e.message}" (${policy.file})`);
      assert.ok(diagnostics.some((d) => at(d) === place && (d.code === Codes.admissionRejected ? d.message === e.message : d.severity === 1)), `the diagnostic at ${place} is not Kyverno's refusal: ${e.message}`);
    }
    // Every diagnostic of the original text is still there, moved with its line.
    const now = new Set(diagnostics.map((d) => `${d.code} ${at(d)} ${d.message}`));
    for (const d of before.get(policy.file)!) {
      const line = d.range.start.line;
      if (line === edit.line) continue;
      const moved = edit.inserted && line >= edit.line ? line + 1 : line;
      const key = `${d.code} ${moved}:${d.range.start.character} ${d.message}`;
      assert.ok(now.has(key), `lost after the edit at line ${edit.line} of ${policy.file}: ${key}`);
    }
    checked++;
  }), { seed, numRuns: runs(120), includeErrorInReport: true });
  assert.ok(checked > 50, `only ${checked} mutations made Kyverno refuse the policy`);
});

test('a CEL expression that does not compile is the CEL check\'s diagnostic, inside the expression; the compiler\'s placeholder is not shown', () => {
  const text = [
    'apiVersion: policies.kyverno.io/v1beta1',
    'kind: GeneratingPolicy',
    'metadata:',
    '  name: g',
    'spec:',
    '  matchConstraints:',
    '    resourceRules:',
    '    - apiGroups: [""]',
    '      apiVersions: ["v1"]',
    '      operations: ["CREATE"]',
    '      resources: ["namespaces"]',
    '  generate:',
    '  - expression: "true && generator.apply(object)"',
    '',
  ].join('\n');
  const value = admissionVerdict((parseFile('file:///g.yaml', text).docs[0].value) as never);
  assert.equal(value?.errors.length, 2, 'the webhook refuses it: placeholder and compile error');
  const diagnostics = validateFile(parseFile('file:///g.yaml', text));
  assert.deepEqual(diagnostics.filter((d) => d.code === Codes.admissionRejected), []);
  assert.deepEqual(diagnostics.map((d) => [d.code, at(d)]), [['KS1207', '12:25']]);
});

test('a NamespacedGeneratingPolicy calls generator.apply without a namespace: no CEL diagnostic there, one for the cluster-wide form', () => {
  const text = (expression: string) => [
    'apiVersion: policies.kyverno.io/v1beta1',
    'kind: NamespacedGeneratingPolicy',
    'metadata:',
    '  name: g',
    '  namespace: team',
    'spec:',
    '  matchConstraints:',
    '    resourceRules:',
    '    - apiGroups: ["apps"]',
    '      apiVersions: ["v1"]',
    '      operations: ["CREATE"]',
    '      resources: ["deployments"]',
    '  generate:',
    `  - expression: "${expression}"`,
    '',
  ].join('\n');
  const codes = (expression: string) => validateFile(parseFile('file:///n.yaml', text(expression))).map((d) => d.code);
  assert.deepEqual(codes('generator.apply([{\\"kind\\": dyn(\\"ConfigMap\\")}])'), []);
  assert.deepEqual(codes('generator.apply(\\"team\\", [{\\"kind\\": dyn(\\"ConfigMap\\")}])'), ['KS1207']);
});
