// The language server never loses diagnostics: wrong-typed values are reported where they
// are and the rest stays; a check's internal error is one diagnostic; the incremental
// re-parse agrees with a fresh parse after edits that re-shape what follows an item.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFile, validateFile, Codes, type Diagnostic } from '../../server/src/service';
import { reparseFile } from '../../server/src/service/reparse';
import { runCheck } from '../../server/src/service/guard';

const policy = (match: string) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: a
    match:
${match}
    validate:
      message: "{{ to_upper( }}"
      pattern:
        metadata:
          name: "?*"
  - name: a
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      deny: {}
`;
const codes = (ds: Diagnostic[]) => ds.map((d) => `${d.code}@${d.range.start.line}`).sort();

for (const [what, match, line] of [
  ['kinds as a scalar', '      any:\n      - resources:\n          kinds: Pod', 10],
  // A mapping is underlined at its key's line.
  ['any as a mapping', '      any:\n        resources:\n          kinds: [Pod]', 8],
  ['legacy resources.kinds as a scalar', '      resources:\n        kinds: Pod', 9],
  ['any as a number', '      any: 3', 8],
] as const) {
  test(`${what}: reported at the value, every other diagnostic kept`, () => {
    const found = validateFile(parseFile('file:///p.yaml', policy(match)));
    assert.ok(found.some((d) => d.code === Codes.wrongType && d.range.start.line === line), JSON.stringify(codes(found)));
    assert.ok(found.some((d) => d.code === Codes.jmespathSyntax), 'the JMESPath error of the same rule');
    assert.ok(found.some((d) => d.code === Codes.duplicateRule), 'the duplicate rule name below');
    assert.deepEqual(found.filter((d) => d.code === Codes.internalError), []);
  });
}

test('a null where the schema wants a value is a warning at that value', () => {
  const found = validateFile(parseFile('file:///p.yaml', policy('      any: null')));
  const nulls = found.filter((d) => d.code === Codes.nullValue);
  assert.equal(nulls.length, 1);
  assert.equal(nulls[0].range.start.line, 8);
  assert.ok(found.some((d) => d.code === Codes.duplicateRule));
});

test('an internal error in a check is one diagnostic, logged, and the other checks still report', () => {
  const file = parseFile('file:///p.yaml', 'a: 1\n');
  const out: Diagnostic[] = [{ ...validateFile(file)[0] ?? {}, code: 'kept' } as Diagnostic];
  const logged: string[] = [];
  runCheck(file, 0, 'the test check', out, () => {
    throw new TypeError('x.some is not a function');
  }, (m) => logged.push(m));
  assert.equal(out.length, 2);
  assert.equal(out[1].code, Codes.internalError);
  assert.match(out[1].message, /the test check: x\.some is not a function/);
  assert.equal(logged.length, 1);
  assert.match(logged[0], /TypeError/);
});

const TWO_RULES = policy('      any:\n      - resources:\n          kinds: [Pod]').replace('    validate:\n      message', '    preconditions:\n      all:\n      - key: "{{ request.operation }}"\n        operator: Equals\n        value: CREATE\n    validate:\n      message');
for (const [what, edit] of [
  ['indenting `- name: a` under the rule above', (t: string) => t.replace(/\n  - name: a\n(?![\s\S]*\n  - name: a\n)/, '\n    - name: a\n')],
  ['moving `validate:` under `preconditions:`', (t: string) => t.replace('    validate:\n      message', '      validate:\n      message')],
  ['dedenting the last line of an item', (t: string) => t.replace('        value: CREATE\n', '      value: CREATE\n')],
] as const) {
  test(`incremental re-parse equals a fresh parse after ${what}`, () => {
    const text = edit(TWO_RULES);
    assert.notEqual(text, TWO_RULES);
    const incremental = reparseFile(parseFile('file:///p.yaml', TWO_RULES), text);
    const fresh = parseFile('file:///p.yaml', text);
    assert.deepEqual(incremental.docs.map((d) => d.value), fresh.docs.map((d) => d.value));
    const found = validateFile(incremental);
    assert.ok(found.length > 0);
    assert.deepEqual(found, validateFile(fresh));
  });
}
