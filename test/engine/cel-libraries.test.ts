import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalCel } from '../../engine/cel/environment';
import { toCel, fromCel } from '../../engine/cel/values';
import { goFormatDouble, formatString } from '../../engine/cel/format';
import { md5Hex, sha1Hex, sha256Hex } from '../../engine/cel/hash';

function run(expr: string, vars: Record<string, unknown> = {}): unknown {
  const act: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars)) act[k] = toCel(v);
  return fromCel(evalCel(expr, act));
}

/** Asserts a boolean CEL fact (the form cel-go's conformance tests use). */
function holds(expr: string, vars: Record<string, unknown> = {}): void {
  assert.equal(run(expr, vars), true, expr);
}

test('two-variable comprehensions (cel-go ext.TwoVarComprehensions)', () => {
  holds('[1, 2, 3].transformList(indexVar, valueVar, (indexVar * valueVar) + valueVar) == [1, 4, 9]');
  holds('[1, 2, 3].transformList(indexVar, valueVar, indexVar < 2, (indexVar * valueVar) + valueVar) == [1, 4]');
  holds("{'greeting': 'hello'}.transformMap(k, v, v + '!') == {'greeting': 'hello!'}");
  holds("{'a': 1, 'b': 2}.transformMap(k, v, v > 1, v * 10) == {'b': 20}");
  holds("{'hello': 'world', 'greetings': 'tacocat'}.transformMapEntry(k, v, {}) == {}");
  holds("{'a': 'x', 'b': 'y'}.transformMapEntry(k, v, {v: k}) == {'x': 'a', 'y': 'b'}");
  holds("[1, 2].transformMap(i, v, v * 2) == {0: 2, 1: 4}");
  holds("{'a': 1, 'b': 2}.all(k, v, v > 0) && !{'a': 1, 'b': 2}.all(k, v, k == 'a')");
  holds('[5, 6].exists(i, v, i == 1 && v == 6) && [1, 2, 1].existsOne(i, v, v == 2) && [1, 1].existsOne(x, x == 1) == false');
  assert.throws(() => run("{'a': 'x', 'b': 'x'}.transformMapEntry(k, v, {v: k})"), /insert failed: key x already exists/);
  assert.throws(() => run('[1].transformList(i, v, i, v)'), /must return bool/);
});

test('all/exists: a decisive element wins over an erroring one, as in cel-go', () => {
  holds("[{'a': 1}, {}].exists(i, v, v.a == 1)");
  holds("!([{}, {'a': 2}].all(i, v, v.a == 1))");
  assert.throws(() => run("[{}, {'a': 1}].all(i, v, v.a == 1)"));
});

test('ext.Lists: sortBy, range, distinct, flatten, reverse, slice, sort', () => {
  holds('[{"name": "foo", "score": 0}, {"name": "bar", "score": -10}, {"name": "baz", "score": 1000}].sortBy(e, e.score).map(e, e.name) == ["bar", "foo", "baz"]');
  holds('lists.range(4) == [0, 1, 2, 3] && lists.range(0) == []');
  holds('[1, 2, 2, 1.0, 3u, "a", "a"].distinct() == [1, 2, 3u, "a"]');
  holds('[[1], [1], [2]].distinct() == [[1], [2]]');
  holds('[1, [2, [3, 4]]].flatten() == [1, 2, [3, 4]] && [1, [2, [3, 4]]].flatten(2) == [1, 2, 3, 4]');
  holds('[5, 1, 2].reverse() == [2, 1, 5] && [1, 2, 3, 4].slice(1, 3) == [2, 3]');
  holds('["b", "c", "a"].sort() == ["a", "b", "c"] && [3, 1, 2].sortBy(x, x) == [1, 2, 3]');
  assert.throws(() => run('[1, 2].slice(2, 1)'), /invalid indices/);
  assert.throws(() => run('[1, 2].flatten(-1)'), /non-negative/);
});

test('ext.Math: greatest/least, rounding, abs/sign, IEEE checks, bit operations', () => {
  holds('math.greatest(-42.0, -21.5, -100.0) == -21.5 && math.least(-42.0, -21.5, -100.0) == -100.0');
  holds('math.greatest([1, 5, 3]) == 5 && math.least(1, 2u, 0.5) == 0.5');
  holds('math.ceil(1.2) == 2.0 && math.floor(-1.2) == -2.0 && math.round(-1.5) == -2.0 && math.round(2.5) == 3.0 && math.trunc(-1.3) == -1.0');
  holds('math.abs(-1) == 1 && math.abs(-1.5) == 1.5 && math.sign(-42) == -1 && math.sign(0.0) == 0.0 && math.sign(3u) == 1u');
  holds('math.isNaN(0.0 / 0.0) && math.isInf(1.0 / 0.0) && !math.isFinite(1.0 / 0.0) && math.isFinite(1.0)');
  holds('math.bitOr(1u, 2u) == 3u && math.bitAnd(3, 5) == 1 && math.bitXor(3, 5) == 6 && math.bitNot(1) == -2 && math.bitNot(0u) == 18446744073709551615u');
  holds('math.bitShiftLeft(1, 2) == 4 && math.bitShiftRight(-1024, 3) == 2305843009213693824 && math.bitShiftLeft(1, 64) == 0');
  holds('math.sqrt(81) == 9.0 && math.round(1.2345, 2) == 1.23');
  assert.throws(() => run('math.abs(-9223372036854775807 - 1)'), /overflow/);
  assert.throws(() => run('math.bitShiftLeft(1, -2)'), /negative offset/);
  assert.throws(() => run('math.greatest([])'), /must not be empty/);
});

test('string(double) and %s use Go float formatting', () => {
  assert.equal(goFormatDouble(1e20), '1e+20');
  assert.equal(goFormatDouble(1e21), '1e+21');
  assert.equal(goFormatDouble(123456789), '1.23456789e+08');
  assert.equal(goFormatDouble(100000), '100000');
  assert.equal(goFormatDouble(0.00001), '1e-05');
  assert.equal(goFormatDouble(-1.5), '-1.5');
  assert.equal(goFormatDouble(Infinity), '+Inf');
  assert.equal(run('string(1e20)'), '1e+20');
  assert.equal(run('string(2.0)'), '2');
  assert.equal(run('string(-0.25)'), '-0.25');
  assert.equal(run('string(42) + string(7u) + string(true) + string(b"hi")'), '427truehi');
  assert.equal(run('string(timestamp("2023-01-01T10:00:00.5Z"))'), '2023-01-01T10:00:00.5Z');
  assert.equal(run('string(duration("90s"))'), '90s');
  assert.throws(() => run('string([1])'), /type conversion error from 'list' to 'string'/);
});

test('string.format: every verb, as the cel-spec strings extension documents', () => {
  const cases: Array<[string, string]> = [
    ['"%s".format(["foo"])', 'foo'], ['"%s".format([b"foo"])', 'foo'], ['"%d".format([1])', '1'], ['"%d".format([1u])', '1'],
    ['"%f".format([1])', '1.000000'], ['"%f".format([3.14])', '3.140000'], ['"%.1f".format([3.14])', '3.1'],
    ['"%e".format([1])', '1.000000e+00'], ['"%e".format([3.14])', '3.140000e+00'], ['"%.1e".format([-3.14])', '-3.1e+00'],
    ["'%.3f'.format([123.4999])", '123.500'], ["'%.3f'.format([123.4994])", '123.499'], ['"%.2f".format([0.125])', '0.12'],
    ['"%x".format(["hi"])', '6869'], ['"%X".format([255])', 'FF'], ['"%x".format([-10])', '-a'], ['"%o".format([8])', '10'],
    ['"%b".format([5])', '101'], ['"%b".format([true])', '1'], ['"%d%%".format([50])', '50%'],
    ['"%s".format([[1, "a", 2.5, null]])', '[1, a, 2.5, null]'], ['"%s".format([{"b": 1, "a": true}])', '{a: true, b: 1}'],
    ['"%s".format([1e20])', '100000000000000000000'], ['"%f".format([0.0 / 0.0])', 'NaN'], ['"%e".format([-1.0 / 0.0])', '-Infinity'],
  ];
  for (const [expr, want] of cases) assert.equal(run(expr), want, expr);
  assert.throws(() => run('"%d".format([1.5])'), /decimal clause can only be used on integers/);
  assert.throws(() => run('"%s %s".format(["a"])'), /index 1 out of range/);
  assert.throws(() => formatString('%q', ['a']), /unrecognized formatting clause/);
});

test('optional values: chains, orValue, or, ofNonZeroValue', () => {
  holds('object.?spec.?replicas.orValue(1) == 3', { object: { spec: { replicas: 3 } } });
  holds('object.?spec.?missing.orValue("d") == "d"', { object: { spec: {} } });
  holds('[1, 2][?5].orValue(9) == 9 && optional.of(1).or(optional.of(2)).value() == 1');
  holds('!optional.ofNonZeroValue(0).hasValue() && !optional.ofNonZeroValue("").hasValue() && optional.ofNonZeroValue([1]).hasValue()');
  holds('optional.none().orValue(4) == 4');
  holds('[1, ?optional.none(), 2, ?optional.of(3)] == [1, 2, 3]');
  holds('{?"a": optional.none(), "b": 1, ?"c": optional.of(2)} == {"b": 1, "c": 2}');
  holds('[?object.?spec.?missing, ?object.?spec.?replicas] == [3]', { object: { spec: { replicas: 3 } } });
  holds('[true ? 1 : 2] == [1] && {"k": false ? 1 : 2} == {"k": 2}');
  assert.throws(() => run('[1, ?2]'), /optional entries in literals need an optional value/);
});

test('strings and encoders: quote, base64, regex through the engine RE2', () => {
  assert.equal(run('strings.quote("first\\nsecond")'), '"first\\nsecond"');
  assert.equal(run('strings.quote("bell\\a tab\\t quote\\" back\\\\")'), '"bell\\a tab\\t quote\\" back\\\\"');
  holds("base64.encode(b'hello') == 'aGVsbG8=' && base64.decode('aGVsbG8=') == b'hello'");
  holds('"hello".matches("^h") && "abc123".find("[0-9]+") == "123" && "a1b2".findAll("[0-9]") == ["1", "2"]');
  assert.throws(() => run('"a".matches("(?=a)")'), /error parsing regexp/);
});

test('ext.Regex: regex.replace with \\N groups and counts, regex.extract, regex.extractAll (cel-go examples)', () => {
  holds("regex.replace('hello world hello', 'hello', 'hi') == 'hi world hi'");
  holds("regex.replace('banana', 'a', 'x', 0) == 'banana' && regex.replace('banana', 'a', 'x', 2) == 'bxnxna' && regex.replace('banana', 'a', 'x', -12) == 'bxnxnx'");
  holds("regex.replace('foo bar', '(fo)o (ba)r', r'\\2 \\1') == 'ba fo'");
  holds("regex.replace('a\\\\b', 'b', r'\\\\') == 'a\\\\\\\\'");
  holds(`regex.replace('docker.io/nginx:latest', '^docker\\\\.io/(.*)', r'myregistry.io/\\1') == 'myregistry.io/nginx:latest'`);
  assert.throws(() => run("regex.replace('test', '(.)', r'\\2')"), /references group 2 but regex has only 1 group/);
  assert.throws(() => run("regex.replace('id=123', r'id=(?P<value>\\d+)', r'value: \\values')"), /must be followed by a digit/);
  assert.throws(() => run("regex.replace('foo bar', '(', 'x')"), /error parsing regexp/);
  // No match: the replacement is never examined.
  holds("regex.replace('abc', 'z', r'\\9') == 'abc'");
  holds("regex.extract('hello world', 'hello(.*)').value() == ' world' && regex.extract('item-A, item-B', 'item-(\\\\w+)').value() == 'A'");
  holds("!regex.extract('HELLO', 'hello').hasValue() && !regex.extract('hello', 'h(x)?').hasValue()");
  assert.throws(() => run("regex.extract('testuser@testdomain', '(.*)@([^.]*)')"), /more than one capturing group/);
  holds("regex.extractAll('id:123, id:456', 'id:\\\\d+') == ['id:123', 'id:456'] && regex.extractAll('id:123, id:456', 'assa') == []");
  holds("regex.extractAll('a1 b c3', '([a-z])[0-9]') == ['a', 'c']");
});

test('quantity and semver come from the engine units and blang semver', () => {
  holds('quantity("50M").isInteger() && !quantity("50m").isInteger() && !quantity("1000m").isInteger() && quantity("1k").asInteger() == 1000');
  holds('quantity("50m").asApproximateFloat() == 0.05 && quantity("200M").isGreaterThan(quantity("50M"))');
  holds('quantity("50M").add(quantity("100k")) == quantity("50100k") && quantity("50M").sub(quantity("100k")) == quantity("49900k")');
  holds('quantity("1Gi").add(quantity("512Mi")).compareTo(quantity("1.5Gi")) == 0 && quantity("1").add(2) == quantity("3")');
  holds('quantity("-1").sign() == -1 && isQuantity("1.5Gi") && !isQuantity("1.5.5")');
  assert.equal(run('string(quantity("1.5Gi").asApproximateFloat())'), '1.610612736e+09');
  assert.throws(() => run('quantity("0.5").asInteger()'), /cannot convert value to integer/);
  holds('semver("1.2.3").major() == 1 && semver("1.2.3").minor() == 2 && semver("1.2.3").patch() == 3');
  holds('semver("1.2.3").compareTo(semver("2.0.0")) == -1 && semver("1.10.0").isGreaterThan(semver("1.9.0"))');
  holds('isSemver("v1.0", true) && !isSemver("v1.0") && !isSemver("01.2.3") && semver("v1.0", true) == semver("1.0.0")');
  holds('semver("1.0.0-alpha").isLessThan(semver("1.0.0"))');
});

test('Kyverno data libraries: json, yaml, hashes, random, listObjToMap, x509 errors', () => {
  holds('json.unmarshal(\'{"a": [1, 2]}\').a[1] + 0.5 == 2.5');
  holds('yaml.parse("a: [1, yes]\\nb: text").b == "text" && yaml.parse("a: yes").a == true');
  // The last of duplicate keys wins, as in sigs.k8s.io/yaml.
  holds('yaml.parse("a: 1\\na: 2").a == 2');
  assert.throws(() => run('json.unmarshal("{")'), /^Error: unexpected end of JSON input$/);
  assert.equal(run('sha256("abc")'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(run('sha1("abc")'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(run('md5("")'), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(md5Hex('The quick brown fox jumps over the lazy dog'), '9e107d9d372bb6826bd81d3542a419d6');
  assert.equal(sha1Hex('The quick brown fox jumps over the lazy dog'), '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12');
  assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.match(String(run('random()')), /^[0-9a-z]{8}$/);
  assert.match(String(run('random("[A-F]{4}-[0-9]{2}")')), /^[A-F]{4}-[0-9]{2}$/);
  assert.deepEqual(run('listObjToMap([{"k": "a"}, {"k": "b"}], [{"v": 1}, {"v": 2}], "k", "v")'), { a: 1, b: 2 });
  assert.throws(() => run('listObjToMap([{"k": "a"}], [], "k", "v")'), /lists of equal length/);
  assert.throws(() => run('x509.decode("not a pem")'), /failed to decode PEM block/);
  // JMESPath's time_* helpers and jmespath() are no CEL functions in Kyverno: policies using them do not compile.
  assert.throws(() => run('time_add("2021-01-01T00:00:00Z", "1h30m")'), /no matching overload|Unknown/);
  assert.throws(() => run('jmespath("a", {})'), /no matching overload|Unknown/);
});
