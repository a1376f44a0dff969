/**
 * engine/units/semver against the test tables of github.com/blang/semver/v4 (semver_test.go,
 * range_test.go), the library Kyverno's semver_compare, its numeric condition operators and
 * the Kubernetes CEL semver library use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, parseRange, parseVersion, SemverError, tryParseVersion } from '../../engine/units';
import { compareVersions as compareVersionStrings } from '../../engine/conditions/ranges';

test('blang formatTests parse', () => {
  for (const s of ['1.2.3', '0.0.1', '0.0.1-alpha.preview+123.456', '1.2.3-alpha.1+123.456', '1.2.3-alpha.1', '1.2.3+123.456',
    '1.2.3-alpha.b-eta+123.b-uild', '1.2.3+123.b-uild', '1.2.3-alpha.b-eta', '18446744073709551615.0.0']) {
    assert.ok(tryParseVersion(s), s);
  }
  const v = parseVersion('1.2.3-alpha.1+123.456');
  assert.deepEqual([v.major, v.minor, v.patch], [1n, 2n, 3n]);
  assert.deepEqual(v.pre, [{ num: null, str: 'alpha' }, { num: 1n, str: '' }]);
});

test('blang wrongformatTests are refused', () => {
  const wrong = ['', '.', '1.', '.1', 'a.b.c', '1.a.b', '1.1.a', '1.a.1', 'a.1.1', '..', '1..', '1.1.', '1..1', '1.1.+123', '1.1.-beta',
    '-1.1.1', '1.-1.1', '1.1.-1', '20000000000000000000.1.1', '1.20000000000000000000.1', '1.1.20000000000000000000',
    '1.1.1-20000000000000000000', '01.1.1', '1.01.1', '1.1.01', '1.1.1-01', '1.1.1-', '1.1.1-a..b', '1.1.1+', '1.1.1+a..b',
    '1.1.1-a_b', '1.1.1+a_b', 'v1.2.3', ' 1.2.3', '1.2.3 ', '1.2', '1'];
  for (const s of wrong) {
    assert.equal(tryParseVersion(s), null, JSON.stringify(s));
    assert.throws(() => parseVersion(s), SemverError, JSON.stringify(s));
  }
  assert.throws(() => parseVersion('01.1.1'), /Major number must not contain leading zeroes "01"/);
  assert.throws(() => parseVersion('1.1.1-01'), /Numeric PreRelease version must not contain leading zeroes "01"/);
  assert.throws(() => parseVersion('1.2'), /No Major.Minor.Patch elements found/);
});

test('blang compareTests', () => {
  const cases: Array<[string, string, number]> = [
    ['1.0.0', '1.0.0', 0], ['2.0.0', '1.0.0', 1], ['0.1.0', '0.1.0', 0], ['0.2.0', '0.1.0', 1], ['0.0.1', '0.0.1', 0],
    ['0.0.2', '0.0.1', 1], ['1.2.3', '1.2.3', 0], ['2.2.4', '1.2.4', 1], ['1.3.3', '1.2.3', 1], ['1.2.4', '1.2.3', 1],
    ['1.0.0', '2.0.0', -1], ['2.0.0', '2.1.0', -1], ['2.1.0', '2.1.1', -1],
    ['1.0.0', '1.0.0-alpha', 1], ['1.0.0-alpha', '1.0.0-alpha.1', -1], ['1.0.0-alpha.1', '1.0.0-alpha.beta', -1],
    ['1.0.0-alpha.beta', '1.0.0-beta', -1], ['1.0.0-beta', '1.0.0-beta.2', -1], ['1.0.0-beta.2', '1.0.0-beta.11', -1],
    ['1.0.0-beta.11', '1.0.0-rc.1', -1], ['1.0.0-rc.1', '1.0.0', -1], ['1.0.0+1.2.3', '1.0.0', 0],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(compareVersions(parseVersion(a), parseVersion(b)), want, `${a} vs ${b}`);
    assert.equal(compareVersions(parseVersion(b), parseVersion(a)), want === 0 ? 0 : -want, `${b} vs ${a}`);
  }
});

test('blang TestParseRange', () => {
  const table: Array<[string, Array<[string, boolean]> | null]> = [
    ['>1.2.3', [['1.2.2', false], ['1.2.3', false], ['1.2.4', true]]],
    ['>=1.2.3', [['1.2.3', true], ['1.2.4', true], ['1.2.2', false]]],
    ['<1.2.3', [['1.2.2', true], ['1.2.3', false], ['1.2.4', false]]],
    ['<=1.2.3', [['1.2.2', true], ['1.2.3', true], ['1.2.4', false]]],
    ['1.2.3', [['1.2.2', false], ['1.2.3', true], ['1.2.4', false]]],
    ['=1.2.3', [['1.2.2', false], ['1.2.3', true], ['1.2.4', false]]],
    ['==1.2.3', [['1.2.2', false], ['1.2.3', true], ['1.2.4', false]]],
    ['!=1.2.3', [['1.2.2', true], ['1.2.3', false], ['1.2.4', true]]],
    ['!1.2.3', [['1.2.2', true], ['1.2.3', false], ['1.2.4', true]]],
    ['>>1.2.3', null], ['1.0', null], ['string', null], ['', null], ['fo.ob.ar.x', null],
    ['>1.2.2 <1.2.4', [['1.2.2', false], ['1.2.3', true], ['1.2.4', false]]],
    ['<1.2.2 <1.2.4', [['1.2.1', true], ['1.2.2', false], ['1.2.3', false], ['1.2.4', false]]],
    ['>1.2.2 <1.2.5 !=1.2.4', [['1.2.2', false], ['1.2.3', true], ['1.2.4', false], ['1.2.5', false]]],
    ['>1.2.2 <1.2.5 !1.2.4', [['1.2.2', false], ['1.2.3', true], ['1.2.4', false], ['1.2.5', false]]],
    ['>1.2.2 || <1.2.4', [['1.2.2', true], ['1.2.3', true], ['1.2.4', true]]],
    ['<1.2.2 || >1.2.4', [['1.2.2', false], ['1.2.3', false], ['1.2.4', false]]],
    ['>1.x', [['0.1.9', false], ['1.2.6', false], ['1.9.0', false], ['2.0.0', true]]],
    ['>1.2.x', [['1.1.9', false], ['1.2.6', false], ['1.3.0', true]]],
    ['>1.2.2 <1.2.4 || >=2.0.0', [['1.2.2', false], ['1.2.3', true], ['1.2.4', false], ['2.0.0', true], ['2.0.1', true]]],
    ['1.x || >=2.0.x <2.2.x', [['0.9.2', false], ['1.2.2', true], ['2.0.0', true], ['2.1.8', true], ['2.2.0', false]]],
    ['>1.2.2 <1.2.4 || >=2.0.0 <3.0.0', [['1.2.2', false], ['1.2.3', true], ['1.2.4', false], ['2.0.0', true], ['2.0.1', true], ['2.9.9', true], ['3.0.0', false]]],
    // Spaces after an operator belong to it (splitAndTrim).
    ['>= 1.0.0 < 2.0.0 || > 3.0.0', [['0.9.9', false], ['1.5.0', true], ['2.0.0', false], ['3.0.0', false], ['3.0.1', true]]],
  ];
  for (const [range, cases] of table) {
    if (cases === null) {
      assert.throws(() => parseRange(range), SemverError, range);
      continue;
    }
    const r = parseRange(range);
    for (const [v, want] of cases) assert.equal(r(parseVersion(v)), want, `${range} on ${v}`);
  }
  assert.throws(() => parseRange('|| 1.0.0'), /First element in range is '\|\|'/);
  assert.throws(() => parseRange('1.0.0 ||'), /Last element in range is '\|\|'/);
  assert.throws(() => parseRange('~1.0.0'), /Could not parse Range "~1.0.0": Could not parse comparator "~" in "~1.0.0"/);
});

test('condition operators compare strict versions only (blang Parse, not npm semver)', () => {
  assert.equal(compareVersionStrings('1.2.3', '1.2.2'), 1);
  assert.equal(compareVersionStrings('1.0.0-rc.1', '1.0.0'), -1);
  // npm semver trimmed spaces and refused numbers beyond 2^53; blang does neither.
  assert.equal(compareVersionStrings(' 1.2.3', '1.2.3'), null);
  assert.equal(compareVersionStrings('9007199254740993.0.0', '9007199254740992.0.0'), 1);
  assert.equal(compareVersionStrings('v1.2.3', '1.2.3'), null);
});
