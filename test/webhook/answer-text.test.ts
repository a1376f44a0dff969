/** The reply's text: the plain allowed answer is written from fixed pieces, every other one by JSON.stringify, with the same result. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAdmissionReview, answerText, blockedMessage, yaml3KeyLess, type WebhookPath } from '../../webhook/admission';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import type { JsonObject } from '../../engine/core/types';

const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const validate = (name: string, action: string, pattern: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
  spec: { validationFailureAction: action, ...extra, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: `${name} failed`, pattern } }] },
});
const addLabel = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'add-label' },
  spec: { rules: [{ name: 'm', match: { any: [{ resources: { kinds: ['Pod'] } }] }, mutate: { patchStrategicMerge: { metadata: { labels: { '+(added)': 'yes' } } } } }] },
};
const review = (labels: Record<string, string>, uid = 'the-uid') => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'a', userInfo: {},
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a', labels }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } });

test('answerText writes exactly what JSON.stringify writes: allowed, denied, warned, patched, unpatched, bad', () => {
  const needTeam = validate('need-team', 'Enforce', { metadata: { labels: { team: '?*' } } });
  const warnApp = validate('warn-app', 'Audit', { metadata: { labels: { app: '?*' } } }, { emitWarning: true });
  const cases: Array<[unknown, WebhookPath, JsonObject[], boolean]> = [
    [review({ team: 't', app: 'x' }), 'validate', [needTeam, warnApp], true],
    [review({ team: 't', app: 'x' }, 'quote " back \\ slash \u2028 \n'), 'validate', [needTeam], true],
    [review({}), 'validate', [needTeam], false],
    [review({ team: 't' }), 'validate', [warnApp], false],
    [review({}), 'mutate', [addLabel], false],
    [review({ added: 'no' }), 'mutate', [addLabel], true],
    [{ kind: 'AdmissionReview' }, 'validate', [needTeam], false],
  ];
  for (const [body, path, policies, plain] of cases) {
    const answer = answerAdmissionReview(body, path, policies, cluster);
    assert.equal(answer.plainAllowed === true, plain, JSON.stringify(answer.body));
    assert.equal(answerText(answer), JSON.stringify(answer.body));
  }
});

test('the reply of evaluateReview parses to the answer', () => {
  const index = new PolicyIndex([validate('need-team', 'Enforce', { metadata: { labels: { team: '?*' } } })]);
  const answer = (labels: Record<string, string>) => JSON.parse(evaluateReview({ path: 'validate', body: JSON.stringify(review(labels)), reports: false }, index, cluster).body).response;
  assert.deepEqual(answer({ team: 't' }), { uid: 'the-uid', allowed: true });
  const denied = answer({});
  assert.equal(denied.allowed, false);
  assert.match(denied.status.message, /need-team/);
});

test("the denial text writes each rule's message as go-yaml v3 does in Kyverno's GetBlockedMessages: plain when it can, quoted when it must, folded past column 80", () => {
  const request = { operation: 'CONNECT' as const, object: { kind: 'PodExecOptions', metadata: { namespace: 'default' } }, oldObject: null, kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
  const text = (rule: string, message: string) => blockedMessage(request, [{ policy: { name: 'p' }, rules: [{ name: rule, type: 'Validation', status: 'fail', message, failureAction: 'Enforce' }] } as never]).split('\n\np:\n')[1];
  // Kyverno's own example (kyverno/kyverno#2545): plain, folded at the first space past column 80.
  assert.equal(text('deny-exec-by-ns-label', 'Executing a command in a container is forbidden for Pods running in Namespaces protected with the label "exec=false".'),
    '  deny-exec-by-ns-label: Executing a command in a container is forbidden for Pods\n    running in Namespaces protected with the label "exec=false".\n');
  assert.equal(text('r', "Evicting Pods protected with the label 'evict=false' is forbidden."), "  r: Evicting Pods protected with the label 'evict=false' is forbidden.\n");
  assert.equal(text('r', 'validation error: a team label is required.'), "  r: 'validation error: a team label is required.'\n", '": " needs quotes');
  assert.equal(text('r', "'quoted' at the start"), "  r: '''quoted'' at the start'\n");
  assert.equal(text('r', 'true'), '  r: "true"\n', 'text that would read back as a boolean');
  assert.equal(text('r', 'two\nlines'), '  r: |-\n    two\n    lines\n');
});

test("the denial text lists policies and rules in go-yaml v3's key order, with every rule of a ran policy that neither passed nor skipped", () => {
  const request = { operation: 'CREATE' as const, object: { kind: 'Pod', metadata: { name: 'p', namespace: 'default' } }, oldObject: null, kind: { group: '', version: 'v1', kind: 'Pod' }, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
  const rule = (name: string, status: string, failureAction = 'Enforce') => ({ name, type: 'Validation', status, message: `${name} says no`, failureAction });
  const text = blockedMessage(request, [
    { policy: { name: 'zeta' }, rules: [rule('rule10', 'fail'), rule('rule2', 'fail', 'Audit'), rule('ok', 'pass'), rule('skipped', 'skip'), rule('broken', 'error')] },
    { policy: { name: 'alpha' }, rules: [rule('r', 'fail')] },
    { policy: { name: 'not-run' }, rules: [rule('r', 'fail')] },
  ] as never, (i) => i !== 2);
  assert.equal(text.split(' policies \n\n')[1], 'alpha:\n  r: r says no\nzeta:\n  broken: broken says no\n  rule2: rule2 says no\n  rule10: rule10 says no\n');
});

test("yaml3KeyLess is go-yaml v3's sorter: digit runs by value, a non-letter before a letter unless digits came before, letters by code point", () => {
  const sorted = (keys: string[]) => [...keys].sort((a, b) => (yaml3KeyLess(a, b) ? -1 : yaml3KeyLess(b, a) ? 1 : 0));
  assert.deepEqual(sorted(['rule10', 'rule2', 'rule1']), ['rule1', 'rule2', 'rule10']);
  assert.deepEqual(sorted(['ab', 'a-b']), ['a-b', 'ab']);
  assert.deepEqual(sorted(['a1', 'a-']), ['a-', 'a1']);
  assert.deepEqual(sorted(['a', 'Z']), ['Z', 'a']);
  assert.deepEqual(sorted(['xa', 'x9']), ['x9', 'xa']);
  assert.deepEqual(sorted(['12', '1a']), ['1a', '12'], 'after a digit, a letter comes first');
  assert.deepEqual(sorted(['a01', 'a1']), ['a1', 'a01'], 'same value: the shorter digit run first');
  assert.deepEqual(sorted(['ab', 'a']), ['a', 'ab']);
});

test('the denial text picks go-yaml v3\'s styles: a literal block unless a space ends a line or the text, the indentation hint 2, double quotes folded past column 80', () => {
  const request = { operation: 'CREATE' as const, object: { kind: 'Pod', metadata: { name: 'p', namespace: 'default' } }, oldObject: null, kind: { group: '', version: 'v1', kind: 'Pod' }, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
  const text = (message: string) => blockedMessage(request, [{ policy: { name: 'p' }, rules: [{ name: 'r', type: 'Validation', status: 'fail', message, failureAction: 'Enforce' }] } as never]).split('\n\np:\n')[1];
  assert.equal(text('line1\n  indented'), '  r: |-\n    line1\n      indented\n', 'a break before spaces keeps the block');
  assert.equal(text('a\nb '), '  r: "a\\nb "\n', 'a trailing space refuses the block');
  assert.equal(text(' lead\nx'), '  r: |2-\n     lead\n    x\n');
  assert.equal(text('tab\there'), '  r: "tab\\there"\n');
  assert.equal(text('del\x7f nel\u0085'), '  r: "del\\x7F nel\\N"\n');
  const long = `${'word '.repeat(20)}\nend`;
  assert.equal(text(long), `  r: "word word word word word word word word word word word word word word word word\n    word word word word \\nend"\n`);
});

test('property: every message reads back from the denial text as the same string (go-yaml v3 styles, folding and escapes)', async () => {
  const fc = (await import('fast-check')).default;
  const { parse } = await import('yaml');
  const request = { operation: 'CREATE' as const, object: { kind: 'Pod', metadata: { name: 'p', namespace: 'default' } }, oldObject: null, kind: { group: '', version: 'v1', kind: 'Pod' }, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
  const piece = fc.oneof(fc.constantFrom(' ', '  ', '\n', '\t', ': ', ' #', "'", '"', '\\', '-', 'true', '\u0085', '\u00a0', '\x7f', 'é', '😀'), fc.string({ maxLength: 12 }));
  fc.assert(fc.property(fc.array(piece, { maxLength: 30 }).map((a) => a.join('')), (message) => {
    const body = blockedMessage(request, [{ policy: { name: 'p' }, rules: [{ name: 'r', type: 'Validation', status: 'fail', message, failureAction: 'Enforce' }] } as never]).split(' policies \n\n')[1];
    assert.equal((parse(body) as { p: { r: unknown } }).p.r, message, JSON.stringify(body));
  }), { seed: 13, numRuns: 500 });
});

test('the denial text quotes a rule name that would read back as another type, and a later policy of the same name replaces the earlier, as Kyverno\'s map does', () => {
  const request = { operation: 'CREATE' as const, object: { kind: 'Pod', metadata: { name: 'p', namespace: 'default' } }, oldObject: null, kind: { group: '', version: 'v1', kind: 'Pod' }, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
  const rule = (name: string) => ({ name, type: 'Validation', status: 'fail', message: 'denied', failureAction: 'Enforce' });
  const text = blockedMessage(request, [{ policy: { name: 'p' }, rules: [rule('first')] }, { policy: { name: 'p' }, rules: [rule('yes'), rule('123')] }] as never);
  assert.equal(text.split(' policies \n\n')[1], 'p:\n  "123": denied\n  "yes": denied\n');
});
