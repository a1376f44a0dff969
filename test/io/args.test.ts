// The one flag parser (io/args): long aliases and Go's boolean spellings are opt-in per command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, UsageError } from '../../io/args';

const spec = { values: [], scalars: ['webhook-timeout'], booleans: ['force', 'help'], aliases: { h: 'help' } };

test('long aliases read as the flag they name, with one dash or two; errors name them as written', () => {
  const withAliases = { ...spec, longAliases: { webhookTimeout: 'webhook-timeout', forceIt: 'force' } };
  const a = parseArgs(['-webhookTimeout', '12', '--forceIt=false'], withAliases);
  assert.deepEqual(a.values.get('webhook-timeout'), ['12']);
  assert.ok(a.negated.has('force'));
  assert.deepEqual(parseArgs(['--webhookTimeout=7', '-forceIt'], withAliases).values.get('webhook-timeout'), ['7']);
  assert.throws(() => parseArgs(['--webhookTimeout'], withAliases), (e: Error) => e instanceof UsageError && e.message === 'flag --webhookTimeout needs a value');
  assert.throws(() => parseArgs(['--webhookTimeout'], spec), /unknown flag --webhookTimeout/, 'not without the alias');
  assert.throws(() => parseArgs(['--toString'], withAliases), /unknown flag --toString/);
});

test("Go's boolean spellings only where a command asks for them; elsewhere true and false as before", () => {
  assert.ok(parseArgs(['--force=T'], { ...spec, goBooleans: true }).booleans.has('force'));
  assert.ok(parseArgs(['--force=0'], { ...spec, goBooleans: true }).negated.has('force'));
  assert.throws(() => parseArgs(['--force=yes'], { ...spec, goBooleans: true }), /invalid boolean value "yes" for --force/);
  assert.throws(() => parseArgs(['--force=1'], spec), (e: Error) => e instanceof UsageError && e.message === 'flag --force takes no value');
  assert.ok(parseArgs(['--force=false'], spec).negated.has('force'));
});

test("toggles take their Go boolean as a value, separate or after =; their long alias's target stays a plain switch", () => {
  const withToggles = { ...spec, booleans: [...spec.booleans, 'deferIt'], longAliases: { forceIt: 'force' }, toggles: ['deferIt', 'forceIt'] };
  const a = parseArgs(['--deferIt', 'false', '-forceIt', 'T', 'p.yaml'], withToggles);
  assert.ok(a.negated.has('deferIt') && !a.booleans.has('deferIt'));
  assert.ok(a.booleans.has('force'));
  assert.deepEqual(a.positionals, ['p.yaml'], 'the value is not a stray argument');
  assert.ok(parseArgs(['--forceIt=0'], withToggles).negated.has('force'));
  // An empty value unsets the toggle: its default applies.
  const unset = parseArgs(['--forceIt=false', '--forceIt='], withToggles);
  assert.ok(!unset.booleans.has('force') && !unset.negated.has('force'));
  const plain = parseArgs(['--force', 'p.yaml'], withToggles);
  assert.ok(plain.booleans.has('force'));
  assert.deepEqual(plain.positionals, ['p.yaml']);
  assert.throws(() => parseArgs(['--deferIt'], withToggles), (e: Error) => e instanceof UsageError && e.message === 'flag --deferIt needs a value');
  assert.throws(() => parseArgs(['--forceIt', 'yes'], withToggles), (e: Error) => e instanceof UsageError && e.message === 'invalid boolean value "yes" for --forceIt');
});
