import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkJmespath,
  FUNCTION_DOCS,
  jmesCompile,
  jmesSearch,
  JmespathError,
  JmespathNotFoundError,
  KYVERNO_FUNCTIONS,
} from '../../engine/jmespath';

const pod = {
  metadata: { name: 'web', labels: { app: 'web', tier: 'frontend' } },
  spec: {
    initContainers: [{ name: 'init', image: 'busybox' }],
    containers: [
      { name: 'nginx', image: 'nginx:1.25', resources: { limits: { memory: '200Mi' } } },
      { name: 'side', image: 'envoy' },
    ],
  },
};

test('standard JMESPath on Kubernetes data', () => {
  assert.deepEqual(jmesSearch('spec.[initContainers, containers][].image', pod), ['busybox', 'nginx:1.25', 'envoy']);
  assert.deepEqual(jmesSearch('spec.containers[?resources.limits.memory].name', pod), ['nginx']);
  assert.equal(jmesSearch("metadata.labels.missing || 'default'", pod), 'default');
  assert.equal(jmesSearch('length(spec.containers)', pod), 2);
  assert.equal(jmesSearch("contains(keys(metadata.labels), 'tier')", pod), true);
  assert.equal(jmesSearch('spec.containers[0].resources.limits.memory', pod), '200Mi');
  assert.equal(jmesSearch('metadata.nothere.deeper', pod), null);
  assert.equal(jmesSearch("'a' < 'b'", null), null); // ordering is numeric only
  assert.equal(jmesSearch('to_number(\'1e3\')', null), 1000);
  assert.equal(jmesSearch("to_number('abc')", null), null);
});

test('built-ins order like Go: numbers numerically, strings by bytes', () => {
  assert.deepEqual(jmesSearch('sort(`[10, 9, 1, 100]`)', null), [1, 9, 10, 100]);
  assert.deepEqual(jmesSearch("sort(['b', 'B', 'a'])", null), ['B', 'a', 'b']);
  assert.equal(jmesSearch("max(['a', 'B'])", null), 'a');
  assert.equal(jmesSearch("min(['a', 'B'])", null), 'B');
  assert.equal(jmesSearch('max(`[]`)', null), null);
  assert.equal(jmesSearch('to_string(`[1e21, 0.0000001, 1.5]`)', null), '[1e+21,1e-7,1.5]');
});

test('community edition extensions that kyverno/go-jmespath also parses', () => {
  assert.equal(jmesSearch('let $n = metadata.name in $n', pod), 'web');
  assert.equal(jmesSearch('`1` + `2`', null), 3);
  assert.equal(jmesSearch("upper('abc')", null), 'ABC');
});

test('Kyverno functions override the community ones of the same name', () => {
  assert.deepEqual(jmesSearch('items(`{"a":1}`, `"k"`, `"v"`)', null), [{ k: 'a', v: 1 }]);
  assert.equal(jmesSearch("sum(['1Ki', '1Ki'])", null), '2Ki');
  assert.equal(jmesSearch("trim('xxhixx', 'x')", null), 'hi');
  assert.throws(() => jmesSearch("trim('  hi  ')", null), JmespathError);
});

test('syntax and runtime errors are JmespathError', () => {
  assert.throws(() => jmesSearch('foo[', {}), JmespathError);
  assert.throws(() => jmesSearch('`{invalid json}`', {}), JmespathError);
  assert.throws(() => jmesSearch('nope(@)', {}), /Unknown function: nope\(\)/);
  assert.throws(() => jmesSearch("to_upper('a', 'b')", {}), /arity|argument/i);
  assert.throws(() => jmesSearch('to_upper(`1`)', {}), JmespathError);
});

test("missingKeys: 'error' reports Kyverno's Unknown key errors on plain paths", () => {
  const data = { request: { object: pod } };
  const strict = { missingKeys: 'error' as const };
  assert.throws(
    () => jmesSearch('request.object.metadata.annotations.owner', data, strict),
    (e: unknown) => e instanceof JmespathNotFoundError && e.key === 'annotations' && e.message === 'Unknown key "annotations" in path',
  );
  assert.throws(() => jmesSearch('request.object.spec.containers[1].resources', data, strict), JmespathNotFoundError);
  // present-but-null values, out-of-range indexes and defaults are not "not found"
  assert.equal(jmesSearch('a.b', { a: { b: null } }, strict), null);
  assert.equal(jmesSearch('request.object.spec.containers[9].name', data, strict), null);
  assert.equal(jmesSearch("request.object.metadata.annotations.owner || 'none'", data, strict), 'none');
  // default mode keeps JMESPath's null
  assert.equal(jmesSearch('request.object.metadata.annotations.owner', data), null);
});

test('jmesCompile parses once and evaluates many times', () => {
  const compiled = jmesCompile('metadata.labels.app');
  assert.equal(compiled.search(pod), 'web');
  assert.equal(compiled.search({ metadata: { labels: { app: 'api' } } }), 'api');
  assert.equal(compiled.expression, 'metadata.labels.app');
  assert.throws(() => jmesCompile('a |'), JmespathError);
});

test('hostile expressions fail fast instead of hanging', () => {
  const start = Date.now();
  assert.throws(() => jmesSearch('('.repeat(100000) + 'a' + ')'.repeat(100000), {}), /too long|nested too deeply/);
  assert.throws(() => jmesSearch('['.repeat(500) + 'a' + ']'.repeat(500), {}), /nested too deeply/);
  assert.throws(() => jmesSearch('a'.repeat(70000), {}), /too long/);
  assert.throws(() => jmesSearch("pad_left('a', `100000000`, 'x')", {}), /too large/);
  assert.ok(Date.now() - start < 5000);
});

test('checkJmespath: syntax errors, unknown functions and arity with offsets', () => {
  assert.deepEqual(checkJmespath('metadata.name'), []);
  const unknown = checkJmespath('a | nope(@) | to_upper(@)');
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0].message, 'Unknown function: nope()');
  assert.equal(unknown[0].offset, 4);
  assert.equal(unknown[0].length, 4);

  const arity = checkJmespath("add(`1`) | truncate('a', `1`, `2`)");
  assert.equal(arity.length, 2);
  assert.match(arity[0].message, /add\(\) takes 2 arguments but received 1/);
  assert.equal(arity[0].offset, 0);
  assert.match(arity[1].message, /truncate\(\) takes 2 arguments but received 3/);
  assert.equal(arity[1].offset, 11);

  const badChar = checkJmespath('a.b | @#');
  assert.equal(badChar.length, 1);
  assert.equal(badChar[0].offset, 7);

  const eof = checkJmespath('foo.');
  assert.equal(eof.length, 1);
  assert.equal(eof[0].offset, 4);
});

test('FUNCTION_DOCS covers every Kyverno function and the standard ones', () => {
  const names = new Set(FUNCTION_DOCS.filter((d) => d.kyverno).map((d) => d.name));
  for (const fn of KYVERNO_FUNCTIONS) assert.ok(names.has(fn.name), fn.name);
  // Kyverno 1.19's GetFunctions: 51 entries, is_external_url and the hashes last.
  assert.equal(KYVERNO_FUNCTIONS.length, 51);
  for (const name of ['compare', 'time_truncate', 'image_normalize', 'x509_decode', 'semver_compare', 'lookup']) {
    assert.ok(names.has(name), name);
  }
  const add = FUNCTION_DOCS.find((d) => d.name === 'add');
  assert.equal(add?.signature, 'add(any, any) any');
  assert.deepEqual([add?.minArgs, add?.maxArgs], [2, 2]);
  const merge = FUNCTION_DOCS.find((d) => d.name === 'merge');
  assert.equal(merge?.maxArgs, -1);
  assert.ok(FUNCTION_DOCS.some((d) => !d.kyverno && d.name === 'length'));
  // Every documented function evaluates as known (no "Unknown function").
  for (const doc of FUNCTION_DOCS) {
    assert.ok(!checkJmespath(`${doc.name}(@)`).some((d) => d.message.startsWith('Unknown function')), doc.name);
  }
});

test('sha256, sha1 and md5 hash a string to hex; is_external_url judges IP literals as Go does', () => {
  assert.equal(jmesSearch("sha256('abc')", {}), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(jmesSearch("sha1('abc')", {}), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(jmesSearch("md5('abc')", {}), '900150983cd24fb0d6963f7d28e17f72');
  assert.equal(jmesSearch("is_external_url('http://10.1.2.3:8080/x')", {}), false);
  assert.equal(jmesSearch("is_external_url('https://172.20.0.1')", {}), false);
  assert.equal(jmesSearch("is_external_url('https://172.32.0.1')", {}), true);
  assert.equal(jmesSearch("is_external_url('http://user@127.0.0.1/')", {}), false);
  assert.equal(jmesSearch("is_external_url('http://[fd00::1]:80/')", {}), false);
  assert.equal(jmesSearch("is_external_url('http://[::ffff:192.168.1.1]/')", {}), false);
  assert.equal(jmesSearch("is_external_url('https://8.8.8.8/dns')", {}), true);
  assert.throws(() => jmesSearch("is_external_url('https://example.com')", {}), /is_external_url.*needs the network/);
});

test('every escaped backtick in a JSON literal is unescaped, as go-jmespath does', () => {
  assert.equal(jmesSearch('`"a\\`b\\`c"`', {}), 'a`b`c');
  assert.equal(jmesSearch('`"one \\` only"`', {}), 'one ` only');
  // Raw strings and quoted identifiers keep their text; a backslash escapes a backslash.
  assert.equal(jmesSearch("'x\\`y'", {}), 'x\\`y');
  assert.deepEqual(jmesSearch('["a`b", `"\\\\"`]', { 'a`b': 1 }), [1, '\\']);
  assert.equal(jmesSearch("join(',', `[\"\\`\", \"\\`\\`\"]`)", {}), '`,``');
});
