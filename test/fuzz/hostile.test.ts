// Property-based tests (fast-check) of the engine's and the webhook's input boundaries: the
// YAML loader, the pattern engine, JMESPath and CEL with random expressions, and the
// webhook's request parser. Each must end (quickly) with a value or its own error class,
// never another exception: a TypeError or RangeError here is a crash in the CLI, the
// language server or a server process. Fixed seed and few runs in `npm test`;
// `npm run fuzz` runs more with a random seed (FUZZ_SEED, FUZZ_RUNS). A crash found once
// stays below as a regression case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseYamlDocuments } from '../../engine/loader';
import { validatePattern } from '../../engine/pattern';
import { jmesSearch, JmespathError } from '../../engine/jmespath';
import { evalCel, CelError } from '../../engine/cel/environment';
import { admissionVariableTypes, apiStructType, celFieldIssues, celGoDisplay } from '../../engine/cel/type-check';
import { isBudgetExceeded } from '../../engine/core/budget';
import { BadReviewError, readAdmissionReview } from '../../webhook/admission';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';

const seed = Number(process.env.FUZZ_SEED ?? 20261206);
const runs = (n: number) => Number(process.env.FUZZ_RUNS ?? n);
const params = (n: number) => ({ seed, numRuns: runs(n), endOnFailure: true });

/** Runs `fn`; an exception must be an Error of one of `allowed` (or a spent budget). */
function endsCleanly(fn: () => unknown, allowed: Array<new (...args: never[]) => Error>, label: string): void {
  try {
    fn();
  } catch (e) {
    if (isBudgetExceeded(e) || allowed.some((c) => e instanceof c)) return;
    assert.fail(`${label}: unexpected ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
}

const json = fc.jsonValue({ maxDepth: 4 });

// --- YAML loader -------------------------------------------------------------------------

const yamlPieces = fc.constantFrom(
  'a: 1', '- x', '---', '&a [1, 2]', '*a', '<<: *a', '"q', "'q'", '{a: [b, {c: d}]}', '  b:', 'k: |', '  text', '? x', ': y',
  '%YAML 1.1', '!!binary aGk=', 'n: .inf', 'y: yes', 'dup: 1\ndup: 2', '\t', '#c', 'x: "a\n b"', '[', ']', '{', '}',
);

test('fuzz: the YAML loader never throws and reports every problem as one line', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(yamlPieces, { maxLength: 30 }).map((l) => l.join('\n'))), (text) => {
      const r = parseYamlDocuments(text, 'f.yaml');
      for (const e of r.errors) {
        assert.equal(e.file, 'f.yaml');
        assert.doesNotMatch(e.message, /\n/);
      }
      for (const d of r.documents) d.locate?.(['spec', 'rules', 0, 'match']);
    }),
    params(300),
  );
});

// --- pattern engine ------------------------------------------------------------------------

const patternKey = fc.constantFrom('a', 'b', '=(a)', '^(b)', 'X(a)', '+(a)', '<(a)', '>(b)', '(a)', '=(', 'a*', '*', '?(x)', '$(y)');
const patternLeaf = fc.oneof(
  fc.constantFrom('*', '?*', '!x', '>1', '<=2Gi', '1-5', '!1-5', 'a | b', 'x & y', '{{ request.object }}', '>1s', 'null', '', '!*'),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const pattern = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, patternLeaf, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(patternKey, tie('node'), { maxKeys: 3 })),
})).node;

test('fuzz: pattern matching ends with an outcome for any resource and pattern', () => {
  fc.assert(
    fc.property(json, pattern, (resource, p) => {
      const outcome = validatePattern(resource, p);
      assert.ok(outcome && typeof outcome === 'object');
    }),
    params(300),
  );
});

// --- JMESPath ------------------------------------------------------------------------------

const jmesExpr = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('@', 'a', 'b.c', 'items', '`1`', "'s'", '`[1,2]`', '`{"a":1}`', 'v'),
    fc.tuple(tie('e'), tie('e')).map(([x, y]) => `${x}.${y}`),
    fc.tuple(tie('e'), tie('e')).map(([x, y]) => `[${x}, ${y}][]`),
    tie('e').map((x) => `${x}[*]`),
    tie('e').map((x) => `${x}[0]`),
    tie('e').map((x) => `${x}[::-1]`),
    fc.tuple(tie('e'), tie('e')).map(([x, y]) => `${x} | ${y}`),
    fc.tuple(tie('e'), tie('e')).map(([x, y]) => `${x} == ${y}`),
    fc.tuple(tie('e'), tie('e')).map(([x, y]) => `${x} || ${y}`),
    fc.tuple(tie('e'), tie('e')).map(([x, y]) => `{k: ${x}, l: ${y}}`),
    fc.tuple(fc.constantFrom('length', 'to_string', 'keys', 'values', 'sort', 'reverse', 'max', 'to_array', 'not_null', 'type', 'base64_encode', 'to_upper', 'items', 'sum', 'semver_compare', 'parse_json', 'split', 'join', 'regex_match', 'pad_left', 'truncate', 'divide', 'add', 'time_parse', 'x509_decode', 'random', 'path_canonicalize', 'lookup'), fc.array(tie('e'), { maxLength: 3 }))
      .map(([f, args]) => `${f}(${args.join(', ')})`),
    tie('e').map((x) => `${x}[?@ > \`1\`]`),
  ),
})).e;

test('fuzz: JMESPath queries end with a value or a JMESPath error', () => {
  fc.assert(
    fc.property(jmesExpr, json, (expr, data) => {
      const started = Date.now();
      endsCleanly(() => jmesSearch(expr, { a: data, v: [1, 2, 3], items: [data, data] }), [JmespathError], expr);
      assert.ok(Date.now() - started < 5000, `${expr} took ${Date.now() - started} ms`);
    }),
    params(400),
  );
});

// --- CEL -------------------------------------------------------------------------------------

const celExpr = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('object', 'object.spec', 'object.items', '1', '2.5', '"s"', 'true', 'null', '[1, 2]', '{"a": 1}', 'b"x"', '1u', 'duration("1s")', 'timestamp("2024-01-01T00:00:00Z")'),
    fc.tuple(tie('e'), fc.constantFrom('+', '-', '*', '/', '%', '==', '<', '&&', '||', 'in'), tie('e')).map(([x, op, y]) => `(${x} ${op} ${y})`),
    fc.tuple(tie('e'), fc.constantFrom('size()', 'map(x, x)', 'filter(x, true)', 'all(x, x == x)', 'exists(x, false)', 'orValue(1)', 'lowerAscii()', 'split(",")', 'flatten()', 'join(",")', 'distinct()', 'sort()', 'reverse()', 'matches("a+")', 'startsWith("a")', 'indexOf("a")', 'charAt(1)', 'isSorted()', 'sum()')).map(([x, m]) => `${x}.${m}`),
    tie('e').map((x) => `has(${x}.f)`),
    tie('e').map((x) => `string(${x})`),
    tie('e').map((x) => `int(${x})`),
    tie('e').map((x) => `${x}[0]`),
    tie('e').map((x) => `lists.range(${x})`),
    fc.tuple(tie('e'), tie('e')).map(([x, y]) => `sets.contains(${x}, ${y})`),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([c, x, y]) => `${c} ? ${x} : ${y}`),
  ),
})).e;

test('fuzz: CEL expressions end with a value or a CEL error', () => {
  fc.assert(
    fc.property(celExpr, json, (expr, data) => {
      const started = Date.now();
      endsCleanly(() => evalCel(expr, { object: { spec: data, items: [1, 2, 3] } }), [CelError], expr);
      assert.ok(Date.now() - started < 5000, `${expr} took ${Date.now() - started} ms`);
    }),
    params(400),
  );
});

const podVariables = admissionVariableTypes(apiStructType('V1Pod'));

test("fuzz: the CEL type check never throws, and each issue points at a '.' or a '(' naming a field", () => {
  fc.assert(
    fc.property(celExpr, (expr) => {
      const issues = celFieldIssues(expr, podVariables);
      for (const i of issues) {
        assert.ok(expr[i.offset] === '.' || expr[i.offset] === '(', `${expr} @${i.offset}`);
        assert.equal(expr.slice(i.fieldOffset, i.fieldOffset + i.fieldLength), i.field, expr);
      }
      assert.equal(celGoDisplay(expr, issues).split('\n').filter((l) => l.startsWith('ERROR: ')).length, Math.min(issues.length, 100));
    }),
    params(400),
  );
});

// --- webhook request parser ------------------------------------------------------------------

const goodReview = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'default', userInfo: { username: 'a', groups: ['g'] }, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
};

/** The valid review with one field (at a random path) replaced by a random value or removed. */
const mutatedReview = fc
  .tuple(fc.constantFrom('kind', 'apiVersion', 'request', 'request.uid', 'request.operation', 'request.kind', 'request.kind.kind', 'request.resource', 'request.object', 'request.object.metadata', 'request.userInfo', 'request.userInfo.groups', 'request.oldObject', 'request.namespace', 'request.dryRun'), fc.option(json))
  .map(([path, value]) => {
    const review = structuredClone(goodReview) as Record<string, unknown>;
    const keys = path.split('.');
    let target = review;
    for (const k of keys.slice(0, -1)) target = target[k] as Record<string, unknown>;
    if (value === null) delete target[keys[keys.length - 1]];
    else target[keys[keys.length - 1]] = value;
    return review;
  });

const POLICY = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' },
  spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { failureAction: 'Enforce', message: 'm', pattern: { metadata: { name: '?*' } } } }] },
};
const index = new PolicyIndex([POLICY]);
const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

test('fuzz: the webhook answers any body with 200 or 400, never a crash', () => {
  fc.assert(
    fc.property(fc.oneof(mutatedReview.map((r) => JSON.stringify(r)), json.map((v) => JSON.stringify(v)), fc.string({ maxLength: 100 })), (body) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      if (parsed !== undefined) endsCleanly(() => readAdmissionReview(parsed), [BadReviewError], body);
      const reply = evaluateReview({ path: 'validate', body, deadline: Date.now() + 5000 }, index, cluster);
      assert.ok(reply.status === 200 || reply.status === 400, `${reply.status} ${reply.body} for ${body.slice(0, 200)}`);
    }),
    params(400),
  );
});

test('fuzz regressions: bodies that once crashed the webhook', () => {
  // request.kind.kind as an object whose toString is null: String() threw (500) before the review was checked.
  const review = structuredClone(goodReview) as { request: { kind: Record<string, unknown> } };
  review.request.kind.kind = { toString: null, x: 1 };
  const reply = evaluateReview({ path: 'validate', body: JSON.stringify(review), deadline: Date.now() + 5000 }, index, cluster);
  assert.equal(reply.status, 400);
  assert.match(reply.body, /request\.kind has no kind/);
});
