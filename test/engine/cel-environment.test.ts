import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalCel, CelError } from '../../engine/cel/environment';
import { toCel, fromCel } from '../../engine/cel/values';
import { rewriteExpression } from '../../engine/cel/rewrite';
import { kyvernoActivation } from '../../engine/cel/lib-kyverno';
import { parseReference } from '../../engine/images/parse-reference';
import { checkCelExpression } from '../../engine/cel/diagnostics';
import type { ClusterState } from '../../engine/core/types';

function cluster(partial: Partial<ClusterState> = {}): ClusterState {
  return { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], ...partial };
}

function run(expr: string, vars: Record<string, unknown> = {}, state = cluster()): unknown {
  const rt = { cluster: state, now: new Date('2025-01-01T00:00:00Z'), generated: [] };
  const act: Record<string, unknown> = { ...kyvernoActivation(rt) };
  for (const [k, v] of Object.entries(vars)) act[k] = toCel(v);
  return fromCel(evalCel(expr, act));
}

test('cel values: JSON integers are CEL ints, results convert back', () => {
  assert.equal(run('object.spec.replicas + 1', { object: { spec: { replicas: 2 } } }), 3);
  assert.equal(run('object.ratio * 2.0', { object: { ratio: 0.5 } }), 1);
  assert.deepEqual(run('object.items.map(i, i * 2)', { object: { items: [1, 2] } }), [2, 4]);
});

test('cel rewrite: message construction becomes dyn map literals with quoted keys', () => {
  assert.equal(rewriteExpression('Object{spec: Object.spec{a: x}}'), 'dyn({"spec": dyn({"a": x})})');
  assert.equal(rewriteExpression('"Object{a: 1}".size()'), '"Object{a: 1}".size()');
  assert.deepEqual(run('Object{spec: Object.spec{replicas: 2}}'), { spec: { replicas: 2 } });
  assert.deepEqual(run('true ? Object{a: 1} : null'), { a: 1 });
  assert.deepEqual(run('[JSONPatch{op: "add", path: "/x", value: {"k": "v"}}]'), [{ op: 'add', path: '/x', value: { k: 'v' } }]);
});

test('cel rewrite: optional entries are found in any literal, text around rewrites is kept as written', () => {
  // An optional entry after a comma, in an inner literal, and one only in a later literal.
  assert.equal(rewriteExpression('[a, ?b]'), 'kyOptList([a,kyOptEntry(b)])');
  assert.equal(rewriteExpression('{"k": [1, [2, ?x]]}'), '{"k": [1, kyOptList([2,kyOptEntry(x)])]}');
  assert.equal(rewriteExpression('[1] + [ ?y ]'), '[1] + kyOptList([kyOptEntry(y )])');
  // `?.`, `?[` and ternaries are not optional entries.
  assert.equal(rewriteExpression('[a.?b, c[?0], x ? [1] : {}]'), '[a.?b, c[?0], x ? [1] : {}]');
  assert.equal(rewriteExpression("'s' + x.matches('a') + string(1) + \"t\" + r'u'"), "'s' + x.re2mtch('a') + kyStr_(1) + \"t\" + r'u'");
  assert.equal(rewriteExpression('  a  &&\n b  '), '  a  &&\n b  ');
  assert.equal(rewriteExpression(''), '');
});

test('cel optional types and orValue on present values', () => {
  const object = { spec: { a: [1], m: { x: 'y' } } };
  assert.equal(run('object.spec.?missing.orValue(5)', { object }), 5);
  assert.deepEqual(run('object.spec.a.orValue([])', { object }), [1]);
  assert.equal(run('object.spec.m[?"x"].orValue("q")', { object }), 'y');
  assert.equal(run('object.spec.?m.?z.hasValue()', { object }), false);
});

test('cel has() works on any operand, not only identifier chains', () => {
  const object = { spec: { m: { x: 1 } } };
  assert.equal(run('has(object.spec.m.x)', { object }), true);
  assert.equal(run('has(dyn(object.spec.m).x)', { object }), true);
  assert.equal(run('has(object.spec["m"].y)', { object }), false);
});

test('cel strings library (Kubernetes + ext.Strings)', () => {
  assert.equal(run('"Hello".lowerAscii() + "x".upperAscii()'), 'helloX');
  assert.equal(run('"a,b,c".split(",").join("-")'), 'a-b-c');
  assert.equal(run('"aaa".replace("a", "b", 2)'), 'bba');
  assert.equal(run('"hello".charAt(1)'), 'e');
  assert.equal(run('"hello".substring(1, 3)'), 'el');
  assert.equal(run('"  x ".trim()'), 'x');
  assert.equal(run('"%s has %d items".format(["cart", 3])'), 'cart has 3 items');
  assert.equal(run('"abc".reverse()'), 'cba');
  assert.equal(run('"hello".lastIndexOf("l")'), 3);
});

test('cel regex uses RE2: matches/find/findAll, bounded on hostile patterns', () => {
  assert.equal(run('"abc123".matches("[0-9]+")'), true);
  assert.equal(run('matches("abc", "^b")'), false);
  assert.equal(run('"abc 123 def 456".find("[0-9]+")'), '123');
  assert.deepEqual(run('"a1b2c3".findAll("[0-9]")'), ['1', '2', '3']);
  assert.deepEqual(run('"a1b2c3".findAll("[0-9]", 2)'), ['1', '2']);
  const started = Date.now();
  assert.equal(run('object.s.matches("(a+)+$")', { object: { s: 'a'.repeat(5000) + 'b' } }), false);
  assert.ok(Date.now() - started < 2000);
  assert.throws(() => run('"a".matches("(?=a)")'), /error parsing regexp/);
});

test('cel lists and sets libraries', () => {
  assert.equal(run('[1, 2, 3].isSorted()'), true);
  assert.equal(run('[3, 1].isSorted()'), false);
  assert.equal(run('[1, 2, 3].sum()'), 6);
  assert.equal(run('[4, 1, 3].min()'), 1);
  assert.equal(run('["b", "c", "a"].max()'), 'c');
  assert.equal(run('[1, 2, 1].indexOf(1) + [1, 2, 1].lastIndexOf(1)'), 2);
  assert.deepEqual(run('[[1], [2, 3]].flatten()'), [1, 2, 3]);
  assert.deepEqual(run('[1, 2, 2, 1].distinct()'), [1, 2]);
  assert.deepEqual(run('[1, 2, 3, 4].slice(1, 3)'), [2, 3]);
  assert.equal(run('sets.contains([1, 2, 3], [1, 3])'), true);
  assert.equal(run('sets.equivalent([1, 2], [2, 1, 1])'), true);
  assert.equal(run('sets.intersects([1], [2])'), false);
  assert.throws(() => run('[].min()'), CelError);
});

test('cel ip, cidr, url, quantity, semver libraries', () => {
  assert.equal(run('isIP("10.0.0.1") && !isIP("10.0.0.256") && !isIP("010.0.0.1")'), true);
  assert.equal(run('ip("::1").isLoopback() && ip("10.0.0.1").family() == 4'), true);
  assert.equal(run('cidr("10.0.0.0/8").containsIP("10.2.3.4") && !cidr("10.0.0.0/8").containsIP("11.0.0.1")'), true);
  assert.equal(run('cidr("192.168.0.0/16").containsCIDR("192.168.1.0/24")'), true);
  assert.equal(run('string(cidr("10.1.2.3/8").masked())'), '10.0.0.0/8');
  assert.equal(run('url("https://example.com:8443/a?b=c").getHostname()'), 'example.com');
  assert.equal(run('url("https://example.com:8443/a").getPort()'), '8443');
  assert.equal(run('quantity("1Gi").isGreaterThan(quantity("1000Mi"))'), true);
  assert.equal(run('quantity("500m").asApproximateFloat()'), 0.5);
  assert.equal(run('isQuantity("1.5Gi") && !isQuantity("abc")'), true);
  assert.equal(run('semver("1.10.0").isGreaterThan(semver("1.9.3"))'), true);
  assert.equal(run('semver("v1.2", true).minor()'), 2);
});

test('kyverno libraries: resource, http, globalContext from offline state', () => {
  const state = cluster({
    resources: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'ns1' }, data: { k: 'v' } }],
    apiCallResponses: [{ request: { method: 'GET', urlPath: 'https://svc/api' }, response: { body: { ok: true } } }],
    globalContext: { deployments: { count: 3 } },
  });
  assert.equal(run('resource.Get("v1", "configmaps", "ns1", "cfg").data.k', {}, state), 'v');
  assert.equal(run('size(resource.List("v1", "configmaps", "ns1").items)', {}, state), 1);
  assert.equal(run('resource.Get("v1", "configmaps", "ns1", "nope")', {}, state), null);
  assert.equal(run('http.Get("https://svc/api").body.ok', {}, state), true);
  assert.throws(() => run('http.Get("https://other")', {}, state), /needs network access/);
  assert.equal(run('globalContext.Get("deployments", "count")', {}, state), 3);
  // Kyverno 1.18+ also declares the resource methods under their camelCase names.
  assert.equal(run('resource.get("v1", "configmaps", "ns1", "cfg").data.k + string(size(resource.list("v1", "configmaps", "ns1").items))', {}, state), 'v1');
  assert.equal(run('http.get("https://svc/api").body.ok && http.client("").get("https://svc/api").body.ok', {}, state), true);
  // Kyverno's Client(caBundle) parses the bundle first, mock or not.
  assert.throws(() => run('http.client("x").get("https://svc/api")', {}, state), /request failed: failed to parse PEM CA bundle for APICall/);
  assert.equal(run('globalContext.get("deployments", "count")', {}, state), 3);
  assert.throws(() => run('image.getMetadata("nginx")'), /failed to get image data: image data for nginx not found in the context/);
});

test('kyverno libraries: image parsing, metadata only from the test context, jsonpatch, service accounts, time', () => {
  assert.equal(run('image("nginx").registry() + "/" + image("nginx").repository() + ":" + image("nginx").tag()'), 'index.docker.io/library/nginx:latest');
  assert.equal(run('image("ghcr.io/org/app@sha256:' + 'a'.repeat(64) + '").containsDigest()'), true);
  assert.equal(run('isImage("Not An Image")'), false);
  assert.equal(parseReference('localhost:5000/app:1').registry, 'localhost:5000');
  // go-containerregistry takes the first component as a registry only if it has a '.' or ':'.
  assert.equal(parseReference('localhost/app').registry, 'index.docker.io');
  assert.throws(() => run('image.GetMetadata("nginx")'), /failed to get image data: image data for nginx not found in the context/);
  assert.equal(run('jsonpatch.escapeKey("a/b~c")'), 'a~1b~0c');
  assert.equal(run('parseServiceAccount("system:serviceaccount:team:builder").Namespace'), 'team');
  assert.equal(run('parseServiceAccount("system:serviceaccount:team:builder").Name'), 'builder');
  assert.equal(run('time.now() == timestamp("2025-01-01T00:00:00Z")'), true);
});

test('cel errors are single-line CelErrors, hostile expressions stay bounded', () => {
  assert.throws(() => run('object.missing.field', { object: {} }), (e: unknown) => e instanceof CelError && !e.message.includes('\n'));
  assert.throws(() => run('1 +'), /compilation error/);
  assert.throws(() => run('['.repeat(500) + ']'.repeat(500)), CelError);
  assert.throws(() => run('lists.range(2000000)'), /actual cost limit exceeded/);
  assert.throws(() => run('1 + '.repeat(40000) + '1'), /longer than/);
  const started = Date.now();
  assert.throws(() => run('has('.repeat(3000) + 'x' + ')'.repeat(3000)), CelError);
  assert.ok(Date.now() - started < 5000);
});

test('checkCelExpression reports syntax, unknown variables, types and regex with offsets', () => {
  assert.deepEqual(checkCelExpression('object.spec.x == 1'), []);
  const unknown = checkCelExpression('objet.spec.x == 1');
  assert.equal(unknown.length, 1);
  assert.match(unknown[0].message, /objet/);
  assert.equal(unknown[0].offset, 0);
  assert.equal(unknown[0].length, 5);
  const syntax = checkCelExpression('object.x +');
  assert.equal(syntax[0].offset, 10);
  const regex = checkCelExpression('object.a.matches("[")');
  assert.equal(regex[0].offset, 17);
  assert.match(checkCelExpression('1 + 2', { expect: 'bool' })[0].message, /must evaluate to bool/);
  assert.deepEqual(checkCelExpression('variables.x.all(c, has(c.a))', { expect: 'bool' }), []);
  assert.equal(checkCelExpression('   ').length, 1);
});

test('cel-go compatibility shims: heterogeneous numeric equality, string(duration), base64', () => {
  assert.equal(run('1 == 1.0 && 2 != 2.5 && 1 == 1u'), true);
  assert.equal(run('string(duration("90s")) + " " + string(duration("1.5s"))'), '90s 1.5s');
  assert.equal(run('base64.encode(b"hi")'), 'aGk=');
  assert.equal(run('base64.decode("aGk=").string()'), 'hi');
});
