// Evaluation budgets (engine/core/budget): a hostile policy ends its rule with an error
// naming the budget, quickly and without a wrong pass or fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import type { AdmissionRequest, ClusterState, JsonObject, RuleResult } from '../../engine/core/types';
import { jsonSizeUpTo, MAX_PARSED_TEXT, MAX_EVALUATION_BYTES, MAX_FOREACH_ELEMENTS, isBudgetExceeded, withDeadline } from '../../engine/core/budget';
import { evalCel } from '../../engine/cel/environment';
import { jmesSearch, JMESPATH_BUILD_LIMIT } from '../../engine/jmespath';
import { DEFAULT_MAX_CONTEXT_SIZE } from '../../engine/core/configuration';

const cluster = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
const pod: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
const create: AdmissionRequest = { operation: 'CREATE', object: pod, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
const matchPods = { any: [{ resources: { kinds: ['Pod'] } }] };

function runRule(rule: JsonObject): { result: RuleResult; ms: number } {
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [{ name: 'r', match: matchPods, ...rule }] } };
  const started = Date.now();
  const response = applyPolicy(policy, { request: create, cluster: cluster() });
  assert.equal(response.rules.length, 1);
  return { result: response.rules[0], ms: Date.now() - started };
}

/** Context variables doubling a list `count` times with `[v, v][]`, then a deny on its length. */
function doublingRule(count: number, withDefault = false): JsonObject {
  const context: JsonObject[] = [{ name: 'v0', variable: { value: [1, 2, 3, 4] } }];
  for (let i = 1; i <= count; i++) context.push({ name: `v${i}`, variable: { jmesPath: `[v${i - 1}, v${i - 1}][]`, ...(withDefault ? { default: [] } : {}) } });
  return { context, validate: { message: 'too long', deny: { conditions: { any: [{ key: `{{ length(v${count}) }}`, operator: 'GreaterThan', value: 0 }] } } } };
}

test('JMESPath context variables doubling a list 30 times: an error naming the JMESPath budget, not minutes and a wrong result', () => {
  const { result, ms } = runRule(doublingRule(30));
  assert.equal(result.status, 'error', result.message);
  assert.match(result.message, /failed to load context: failed to apply jmespath \[v\d+, v\d+\]\[\] to variable: JMESPath budget exceeded.*limit 1000000/);
  assert.ok(ms < 10000, `took ${ms} ms`);
  // A default value does not hide a spent budget (it would turn the deny into a pass).
  const withDefault = runRule(doublingRule(30, true)).result;
  assert.equal(withDefault.status, 'error', withDefault.message);
  // Small doublings still evaluate as before.
  assert.equal(runRule(doublingRule(3)).result.status, 'fail');
});

test('one JMESPath query building a huge value is stopped before it is built', () => {
  const data = { v: Array.from({ length: 1000 }, (_, i) => i) };
  const many = `[${Array.from({ length: 2000 }, () => 'v').join(', ')}][]`;
  assert.throws(() => jmesSearch(many, data), (e: unknown) => isBudgetExceeded(e) && /JMESPath budget exceeded/.test((e as Error).message));
  // Under the limit nothing changes; the budget is per query.
  assert.equal((jmesSearch('[v, v][]', data) as unknown[]).length, 2000);
  for (let k = 0; k < 5; k++) assert.equal((jmesSearch('v[*]', { v: Array.from({ length: JMESPATH_BUILD_LIMIT / 2 }, () => 1) }) as unknown[]).length, JMESPATH_BUILD_LIMIT / 2);
});

test('context entries past Kyverno\'s 2 MiB context size are an error of the query that reads them', () => {
  const big = 'x'.repeat(DEFAULT_MAX_CONTEXT_SIZE / 2);
  const { result } = runRule({
    context: [{ name: 'a', variable: { value: big } }, { name: 'b', variable: { value: big } }, { name: 'c', variable: { value: 'small' } }],
    validate: { message: 'm', deny: { conditions: { any: [{ key: '{{ c }}', operator: 'Equals', value: 'small' }] } } },
  });
  // `b` never took its place in the context, and the rule reads only `c`.
  assert.equal(result.status, 'fail', result.message);
  const readsBoth = runRule({
    context: [{ name: 'a', variable: { value: big } }, { name: 'b', variable: { value: big } }],
    validate: { message: 'm', deny: { conditions: { all: [{ key: '{{ length(a) }}', operator: 'GreaterThan', value: 0 }, { key: '{{ length(b) }}', operator: 'GreaterThan', value: 0 }] } } },
  }).result;
  assert.equal(readsBoth.status, 'error');
  // Kyverno's ContextSizeLimitExceededError: two entries of 1 MiB + 2 bytes of JSON each, given
  // by the deferred loader to the query that loads `b`.
  assert.equal(readsBoth.message, 'failed to check deny conditions: failed to substitute variables in condition key: failed to resolve length(b) at path : context size limit exceeded: 2097156 bytes exceeds limit of 2097152 bytes');
  const ok = runRule({ context: [{ name: 'a', variable: { value: big } }], validate: { message: 'm', deny: { conditions: { any: [{ key: '{{ length(a) }}', operator: 'Equals', value: big.length }] } } } });
  assert.equal(ok.result.status, 'fail');
});

test('jsonSizeUpTo measures JSON size and stops early on huge values', () => {
  for (const v of [null, true, false, 12.5, 'héllo', [1, 'a', null], { a: 1, bc: [true, { d: 'e' }] }, []]) {
    assert.equal(jsonSizeUpTo(v, 1e9), JSON.stringify(v).length, JSON.stringify(v));
  }
  const huge = Array.from({ length: 5_000_000 }, () => 1);
  const started = Date.now();
  assert.ok(jsonSizeUpTo(huge, 1000) > 1000);
  assert.ok(Date.now() - started < 200);
});

test('nested foreach over large lists ends with the foreach budget, not a skipped or passed rule', () => {
  const items = Array.from({ length: 400 }, (_, i) => `i${i}`);
  const { result, ms } = runRule({
    context: [{ name: 'items', variable: { value: items } }],
    validate: {
      message: 'm',
      foreach: [{ list: 'items', foreach: [{ list: 'items', deny: { conditions: { any: [{ key: '{{ element }}', operator: 'Equals', value: 'never' }] } } }] }],
    },
  });
  assert.equal(result.status, 'error', result.message);
  assert.match(result.message, new RegExp(`foreach budget exceeded.*limit ${MAX_FOREACH_ELEMENTS}`));
  assert.ok(ms < 20000, `took ${ms} ms`);
});

/** A foreach over `count` elements whose deny joins eight copies of a 1 MB context string. */
function buildingRule(count: number): JsonObject {
  return {
    context: [{ name: 'big', variable: { value: 'x'.repeat(1_000_000) } }, { name: 'items', variable: { value: Array.from({ length: count }, (_, i) => i) } }],
    validate: {
      message: 'm',
      foreach: [{ list: 'items', deny: { conditions: { any: [{ key: "{{ join('', [big, big, big, big, big, big, big, big]) == 'x' }}", operator: 'Equals', value: true }] } } }],
    },
  };
}

test('values built across the queries of one evaluation stop at the memory ceiling: an error naming policy, rule and budget', () => {
  // Each query stays far below the JMESPath budget; together they pass 256 MiB.
  const { result, ms } = runRule(buildingRule(100));
  assert.equal(result.status, 'error', result.message);
  assert.match(result.message, new RegExp(`memory budget exceeded: policy p, rule r: a (JMESPath value built|foreach element) takes the values built by one evaluation past ${MAX_EVALUATION_BYTES} bytes \\(limit ${MAX_EVALUATION_BYTES}\\)`));
  assert.ok(ms < 20000, `took ${ms} ms`);
  // The ceiling is per evaluation: the next one starts afresh, and a smaller one passes as before.
  assert.equal(runRule(buildingRule(5)).result.status, 'pass');
});

test('CEL values built count towards the same ceiling; one expression stays bounded by its cost budget', () => {
  const policy = (count: number) => ({
    apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'vp' },
    spec: {
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
      // Each validation builds 5 MB of strings (2 + 3): under CEL's per-expression cost, 60 of them pass 256 MiB.
      validations: Array.from({ length: count }, (_, i) => ({ expression: `size(object.metadata.annotations.big + object.metadata.annotations.big + object.metadata.annotations.big) > ${i}` })),
    },
  });
  const big = { ...pod, metadata: { ...(pod.metadata as JsonObject), annotations: { big: 'x'.repeat(1_000_000) } } };
  const request: AdmissionRequest = { ...create, object: big, kind: { group: '', version: 'v1', kind: 'Pod' } };
  const over = applyPolicy(policy(60), { request, cluster: cluster() });
  assert.equal(over.rules.length, 1);
  assert.equal(over.rules[0].status, 'error', over.rules[0].message);
  assert.match(over.rules[0].message, /memory budget exceeded: policy vp: a CEL value built takes the values built by one evaluation past 268435456 bytes/);
  const under = applyPolicy(policy(3), { request, cluster: cluster() });
  assert.equal(under.rules[0].status, 'pass', under.rules[0].message);
});

test('past the host\'s deadline the budgets stop an evaluation that keeps looping (foreach, CEL)', () => {
  const items = Array.from({ length: 2000 }, (_, i) => `i${i}`);
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [{ name: 'r', match: matchPods,
    context: [{ name: 'items', variable: { value: items } }],
    validate: { message: 'm', foreach: [{ list: 'items', deny: { conditions: { any: [{ key: '{{ items | sort(@) | join(\',\', @) | length(@) }}', operator: 'LessThan', value: 0 }] } } }] } }] } };
  const started = Date.now();
  const response = withDeadline(Date.now() + 100, () => applyPolicy(policy, { request: create, cluster: cluster() }));
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.equal(response.rules[0].status, 'error');
  assert.match(response.rules[0].message, /deadline budget exceeded: policy p, rule r: the evaluation ran past the review's deadline/);
  assert.throws(
    () => withDeadline(Date.now() - 1, () => evalCel('lists.range(100000).all(x, x >= 0)', {})),
    (e: unknown) => isBudgetExceeded(e) && /deadline budget exceeded/.test((e as Error).message),
  );
  // Without a deadline the same expression evaluates.
  assert.equal(evalCel('lists.range(100000).all(x, x >= 0)', {}), true);
});

test('queries outside a policy evaluation are not summed into any evaluation\'s memory', () => {
  const data = { s: 'x'.repeat(1_000_000) };
  // 80 queries building 4 MB each: past the ceiling if they were summed (a long-running
  // language server would end up refusing every query).
  for (let k = 0; k < 80; k++) assert.equal(jmesSearch("join('', [s, s, s, s]) != ''", data), true);
});

test('a YAML text past the context size is refused before parsing (parse_yaml, yaml.parse): the context size error, at once', () => {
  const yamlList = (count: number) => `- ${Array.from({ length: count }, (_, i) => `k${i}`).join('\n- ')}`;
  const huge = yamlList(400_000);
  assert.ok(huge.length > MAX_PARSED_TEXT);
  const withData = (data: string): AdmissionRequest => ({ ...create, object: { ...pod, metadata: { ...(pod.metadata as JsonObject), annotations: { data } } } });
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [{ name: 'r', match: matchPods,
    validate: { message: 'm', deny: { conditions: { any: [{ key: '{{ length(parse_yaml(request.object.metadata.annotations.data)) }}', operator: 'LessThan', value: 0 }] } } } }] } };
  let started = Date.now();
  const refused = applyPolicy(policy, { request: withData(huge), cluster: cluster() }).rules[0];
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.equal(refused.status, 'error', refused.message);
  assert.match(refused.message, /context size budget exceeded: parse_yaml of a text of \d+ characters, larger than a text parsed in one step may be \(limit 2097152\)/);
  // Under the limit the text is parsed as before (the deny does not hold: a pass).
  assert.equal(applyPolicy(policy, { request: withData(yamlList(100)), cluster: cluster() }).rules[0].status, 'pass');
  started = Date.now();
  assert.throws(() => evalCel('yaml.parse(object.data)', { object: { data: huge } }), (e: unknown) => /context size budget exceeded: yaml\.parse of a text/.test((e as Error).message));
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.deepEqual(evalCel('yaml.parse(object.data)', { object: { data: yamlList(2) } }), ['k0', 'k1']);
});

test("a context entry's JSON size is measured once, for the memory when computed and the context when loaded", async () => {
  const { loadContextEntries } = await import('../../engine/context/entries');
  const { loadNamedEntries } = await import('../../engine/context/deferred');
  // A global context value read as stored: every measurement walks it and reads the getter.
  let reads = 0;
  const stored = { get items() { reads++; return ['a', 'b']; } };
  const env = { cluster: { ...cluster(), globalContext: { g: stored } }, provided: new Set<string>() };
  const loaded = loadContextEntries([{ name: 'g', globalReference: { name: 'g' } }], { data: {} }, env);
  assert.equal(loaded.error, undefined);
  assert.equal(loadNamedEntries('g.items', loaded.scope.deferredEntries), undefined);
  assert.equal(loaded.scope.deferredEntries?.[0].state, 'loaded');
  assert.equal(reads, 1);
});
