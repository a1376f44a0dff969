import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anchorError,
  anchorString,
  checkAnchorSyntax,
  checkPatternAnchors,
  containsCondition,
  isAddIfNotPresentAnchor,
  isConditionAnchor,
  isConditionalAnchorError,
  isEqualityAnchor,
  isExistenceAnchor,
  isGlobalAnchor,
  isGlobalAnchorError,
  isNegationAnchor,
  isNegationAnchorError,
  parseAnchor,
  plainError,
  removeAnchor,
  removeAnchorsFromPath,
} from '../../engine/anchor';

// Kyverno pkg/engine/anchor/anchor_test.go TestParse, as data.
const KYVERNO_PARSE_CASES: Array<[string, [string, string] | null]> = [
  ['(something)', ['condition', 'something']],
  ['()', null],
  ['something', null],
  ['(something', null],
  ['something)', null],
  ['so)m(et(hin)g', null],
  ['', null],
  ['^(abc)', ['existence', 'abc']],
  ['^(abc', null],
  ['^abc', null],
  ['^()', null],
  ['(abc)', ['condition', 'abc']],
  ['=(abc)', ['equality', 'abc']],
  ['=(abc', null],
  ['=abc', null],
  ['+(abc)', ['addIfNotPresent', 'abc']],
  ['+(abc', null],
  ['+abc', null],
  ['X(abc)', ['negation', 'abc']],
  ['X(abc', null],
  ['Xabc', null],
  ['<(abc)', ['global', 'abc']],
  ['<(abc', null],
  ['<abc', null],
  ['(abc', null],
  ['abc', null],
];

test('anchor: Kyverno TestParse table', () => {
  for (const [input, want] of KYVERNO_PARSE_CASES) {
    const got = parseAnchor(input);
    assert.deepEqual(got ? [got.type, got.key] : null, want, input);
  }
});

test('anchor: parse recognises every modifier', () => {
  assert.deepEqual(parseAnchor('(name)'), { type: 'condition', modifier: '', key: 'name' });
  assert.deepEqual(parseAnchor('<(image)'), { type: 'global', modifier: '<', key: 'image' });
  assert.deepEqual(parseAnchor('X(hostPath)'), { type: 'negation', modifier: 'X', key: 'hostPath' });
  assert.deepEqual(parseAnchor('+(annotations)'), { type: 'addIfNotPresent', modifier: '+', key: 'annotations' });
  assert.deepEqual(parseAnchor('=(labels)'), { type: 'equality', modifier: '=', key: 'labels' });
  assert.deepEqual(parseAnchor('^(containers)'), { type: 'existence', modifier: '^', key: 'containers' });
});

test('anchor: plain keys and malformed anchors are not anchors', () => {
  for (const key of ['name', '', '()', 'X()', '(', ')', '(name', 'name)', 'x(name)', '!(name)', '$(name)', '((', 'a(b)c']) {
    assert.equal(parseAnchor(key), null, key);
  }
});

test('anchor: surrounding whitespace is ignored, inner text kept verbatim', () => {
  assert.deepEqual(parseAnchor('  (name)  '), { type: 'condition', modifier: '', key: 'name' });
  assert.equal(parseAnchor('( spaced key )')?.key, ' spaced key ');
  // The key is everything between the first "(" and the last ")".
  assert.equal(parseAnchor('((a))')?.key, '(a)');
  assert.equal(parseAnchor('X(a)(b)')?.key, 'a)(b');
  assert.equal(parseAnchor('(kubernetes.io/*)')?.key, 'kubernetes.io/*');
  assert.equal(parseAnchor('(a\nb)'), null);
});

test('anchor: type predicates', () => {
  assert.equal(isConditionAnchor('(a)'), true);
  assert.equal(isConditionAnchor('=(a)'), false);
  assert.equal(isGlobalAnchor('<(a)'), true);
  assert.equal(isGlobalAnchor('(a)'), false);
  assert.equal(isNegationAnchor('X(a)'), true);
  assert.equal(isNegationAnchor('x(a)'), false);
  assert.equal(isAddIfNotPresentAnchor('+(a)'), true);
  assert.equal(isEqualityAnchor('=(a)'), true);
  assert.equal(isExistenceAnchor('^(a)'), true);
  assert.equal(isExistenceAnchor('^a'), false);
  assert.equal(containsCondition('(a)'), true);
  assert.equal(containsCondition('<(a)'), true);
  assert.equal(containsCondition('=(a)'), false);
  assert.equal(containsCondition('a'), false);
});

test('anchor: string form and removal', () => {
  assert.equal(anchorString('condition', 'a'), '(a)');
  assert.equal(anchorString('global', 'a'), '<(a)');
  assert.equal(anchorString('negation', 'a'), 'X(a)');
  assert.equal(anchorString('addIfNotPresent', 'a'), '+(a)');
  assert.equal(anchorString('equality', 'a'), '=(a)');
  assert.equal(anchorString('existence', 'a'), '^(a)');
  assert.equal(anchorString('existence', ''), '');
  assert.equal(removeAnchor('=(labels)'), 'labels');
  assert.equal(removeAnchor('labels'), 'labels');
});

test('anchor: removeAnchorsFromPath', () => {
  // Kyverno pkg/engine/anchor/utils_test.go TestRemoveAnchorsFromPath.
  assert.equal(removeAnchorsFromPath('/path/(to)/X(anchors)'), '/path/to/anchors');
  assert.equal(removeAnchorsFromPath('path/(to)/X(anchors)'), 'path/to/anchors');
  assert.equal(removeAnchorsFromPath('../(to)/X(anchors)'), '../to/anchors');
  // path.Join drops the trailing slash.
  assert.equal(removeAnchorsFromPath('/path/(to)/X(anchors)/'), '/path/to/anchors');
  assert.equal(removeAnchorsFromPath('/spec/=(containers)/0/^(ports)'), '/spec/containers/0/ports');
});

// Kyverno's anchor/error.go: errors are recognised by kind, or by text once their type is lost.
test('anchor: error kinds and text fallback', () => {
  const cond = anchorError('conditional', 'x');
  assert.equal(cond.message, 'conditional anchor mismatch: x');
  assert.equal(isConditionalAnchorError(cond), true);
  assert.equal(isGlobalAnchorError(cond), false);
  const glob = anchorError('global', 'y');
  assert.equal(glob.message, 'global anchor mismatch: y');
  assert.equal(isGlobalAnchorError(glob), true);
  const neg = anchorError('negation', '/spec/hostPID/ is not allowed');
  assert.equal(neg.message, 'negation anchor matched in resource: /spec/hostPID/ is not allowed');
  assert.equal(isNegationAnchorError(neg), true);
  assert.equal(isNegationAnchorError(cond), false);
  // A typed error is judged by its kind even when its text mentions another kind.
  assert.equal(isGlobalAnchorError(anchorError('conditional', 'global anchor mismatch: inner')), false);
  // Untyped errors fall back to the text, as Kyverno's isError does.
  assert.equal(isConditionalAnchorError(plainError('a; conditional anchor mismatch: b')), true);
  assert.equal(isGlobalAnchorError(plainError('global anchor mismatch: z')), true);
  assert.equal(isConditionalAnchorError(plainError('resource value')), false);
  assert.equal(isConditionalAnchorError(null), false);
});

test('anchor syntax: validate accepts the five validate anchors and rejects +()', () => {
  for (const key of ['name', '(name)', '<(name)', 'X(name)', '=(name)', '^(name)', ' (name) ']) {
    assert.equal(checkAnchorSyntax(key), null, key);
  }
  assert.equal(checkAnchorSyntax('+(name)'), 'unsupported anchor +(name)');
  assert.equal(checkAnchorSyntax('+(name)', 'mutate'), null);
});

test('anchor syntax: malformed anchors are reported', () => {
  assert.match(checkAnchorSyntax('(name') ?? '', /missing closing parenthesis/);
  assert.match(checkAnchorSyntax('=(name') ?? '', /missing closing parenthesis/);
  assert.match(checkAnchorSyntax('()') ?? '', /empty/);
  assert.match(checkAnchorSyntax('X()') ?? '', /empty/);
  assert.match(checkAnchorSyntax('!(name)') ?? '', /unknown anchor modifier "!"/);
  assert.match(checkAnchorSyntax('x(name)') ?? '', /unknown anchor modifier "x"/);
  // Ordinary keys containing parentheses elsewhere are left alone.
  assert.equal(checkAnchorSyntax('app.kubernetes.io/name'), null);
  assert.equal(checkAnchorSyntax('ab(c)'), null);
  assert.equal(checkAnchorSyntax('a(b'), null);
});

// Kyverno's policy validation (pkg/policy/common ValidatePattern) for existence anchors.
test('anchor syntax: whole-pattern walk reports paths and existence anchor value rules', () => {
  const issues = checkPatternAnchors({
    spec: {
      '^(containers)': 'not-a-list',
      '^(volumes)': [],
      '^(initContainers)': [{ name: 'x' }],
      template: [{ '+(add)': 1, '(ok)': 2, '(broken': 3 }],
    },
  });
  const byPath = Object.fromEntries(issues.map((i) => [JSON.stringify(i.path), i.message]));
  assert.equal(byPath['["spec","^(containers)"]'], 'existence anchor should have value of type list');
  assert.equal(byPath['["spec","^(volumes)"]'], 'existence anchor: should have at least one value');
  assert.equal(byPath['["spec","template",0,"+(add)"]'], 'unsupported anchor +(add)');
  assert.match(byPath['["spec","template",0,"(broken"]'], /missing closing parenthesis/);
  assert.equal(issues.length, 4);
  assert.deepEqual(checkPatternAnchors({ '+(a)': { '^(b)': [{}] } }, 'mutate'), []);
});
