import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegex, RegexError, regexMatches, regexReplaceAll, regexReplaceAllLiteral } from '../../engine/regex';

test('regex: MatchString is unanchored like Go', () => {
  assert.equal(regexMatches('12.*', "hgf'b1a2r'b12g"), true);
  assert.equal(regexMatches('^foo', 'foobar'), true);
  assert.equal(regexMatches('^bar', 'foobar'), false);
  assert.equal(regexMatches('(?i)NGINX', 'nginx:latest'), true);
});

test('regex: RE2 syntax errors are RegexError with Go-style text', () => {
  assert.throws(() => compileRegex('(a'), (e: unknown) => e instanceof RegexError && /missing closing \)/.test((e as Error).message));
  // Backtracking-only constructs are rejected, as in Go.
  assert.throws(() => compileRegex('a(?=b)'), RegexError);
  assert.throws(() => compileRegex('(a)\\1'), RegexError);
});

test('regex: ReplaceAllString expansion ($1, ${name}, $$, unknown groups)', () => {
  assert.equal(regexReplaceAll('([Hh]e|G)l', 'Hello world, helworldlo', '${2}G'), 'Glo world, Gworldlo');
  assert.equal(regexReplaceAll('a(x*)b', '-ab-axxb-', '${1}W'), '-W-xxW-');
  // "$1W" names group "1W", which does not exist.
  assert.equal(regexReplaceAll('a(x*)b', '-ab-axxb-', '$1W'), '---');
  assert.equal(
    regexReplaceAll('(?P<first>\\w+)\\s(?P<second>\\w+)', 'hello world', '${second} $first $$ $'),
    'world hello $ $',
  );
});

test('regex: empty matches follow Go (no empty match right after a match)', () => {
  assert.equal(regexReplaceAll('a*', 'baaac', 'X'), 'XbXcX');
  assert.equal(regexReplaceAll('', 'abc', '-'), '-a-b-c-');
});

test('regex: ReplaceAllLiteralString inserts the replacement verbatim', () => {
  assert.equal(regexReplaceAllLiteral('[Hh]el?', 'Hello world, helworldlo', 'G'), 'Glo world, Gworldlo');
  assert.equal(regexReplaceAllLiteral('a(x*)b', '-ab-axxb-', '$1'), '-$1-$1-');
});

test('regex: hostile patterns stay linear', () => {
  const start = Date.now();
  assert.equal(regexMatches('(a+)+$', 'a'.repeat(5000) + 'b'), false);
  assert.equal(regexMatches('(x+x+)+y', 'x'.repeat(5000)), false);
  assert.ok(Date.now() - start < 5000);
  assert.throws(() => compileRegex('a'.repeat(40000)), RegexError);
});
