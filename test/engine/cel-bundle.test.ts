/**
 * The CEL adapter tells cel-js value classes (uint, duration, optional) and its own (quantity)
 * apart by identity, so it must behave the same once bundled WITHOUT esbuild keepNames and
 * once minified (which renames every class). Each case goes through one of those class checks.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

interface BundledCel {
  evalCel(expression: string, activation: Record<string, unknown>): unknown;
  evalCelBool(expression: string, activation: Record<string, unknown>): boolean;
  fromCel(value: unknown): unknown;
}

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ks-cel-bundle-'));
const VARIANTS = { plain: { minify: false }, minified: { minify: true } } as const;
const bundles: Partial<Record<keyof typeof VARIANTS, BundledCel>> = {};

before(async () => {
  for (const [name, options] of Object.entries(VARIANTS)) {
    const outfile = join(dir, `cel-${name}.js`);
    await build({
      stdin: { contents: "export { evalCel, evalCelBool, fromCel } from './engine/cel';", resolveDir: root, loader: 'ts' },
      outfile, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error', ...options,
    });
    bundles[name as keyof typeof VARIANTS] = require(outfile) as BundledCel;
  }
});

/** Expression → the plain JSON value it yields (through fromCel, as policies see it). */
const VALUES: Array<[string, unknown]> = [
  ["string(duration('90s'))", '90s'],
  ["string(duration('1500ms'))", '1.5s'],
  ["duration('90s')", '90s'],
  ["string(timestamp('2024-01-01T00:00:00.5Z'))", '2024-01-01T00:00:00.5Z'],
  ['1u', 1],
  ['string(7u)', '7'],
  ['type(1u) == uint', true],
  ['optional.of(1)', 1],
  ['optional.none()', null],
  ['optional.of(3).orValue(5)', 3],
  ['optional.none().orValue(5)', 5],
  ["{'a': 1}.?a.orValue(0)", 1],
  ["quantity('1Gi')", '1Gi'],
  ["quantity('1Gi').isGreaterThan(quantity('1Mi'))", true],
  ["quantity('500m').compareTo(quantity('0.5')) == 0", true],
  ["'%s and %s'.format([duration('90s'), quantity('1500m')])", '90s and 1500m'],
  ["'%d %x %s'.format([7u, 255u, 9u])", '7 ff 9'],
  ["'%s'.format([{'d': duration('2s'), 'u': 3u}])", '{d: 2s, u: 3}'],
];

/** Expressions that are not bool: the error names the CEL type of what they yielded. */
const TYPE_NAMES: Array<[string, string]> = [
  ['1u', 'uint'],
  ["duration('1s')", 'google.protobuf.Duration'],
  ["timestamp('2024-01-01T00:00:00Z')", 'google.protobuf.Timestamp'],
  ["quantity('1')", 'kubernetes.Quantity'],
];

for (const variant of Object.keys(VARIANTS) as Array<keyof typeof VARIANTS>) {
  test(`CEL values keep their class in a ${variant} bundle without keepNames`, () => {
    const cel = bundles[variant]!;
    for (const [expression, want] of VALUES) {
      assert.deepEqual(cel.fromCel(cel.evalCel(expression, {})), want, expression);
    }
  });

  test(`CEL type names in messages survive a ${variant} bundle`, () => {
    const cel = bundles[variant]!;
    for (const [expression, type] of TYPE_NAMES) {
      assert.throws(() => cel.evalCelBool(expression, {}), (err: Error) => err.message.endsWith(`must evaluate to bool, got ${type}`), expression);
    }
  });
}
