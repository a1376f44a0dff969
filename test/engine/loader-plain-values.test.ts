// The values-only fast path of engine/loader (plain-values.ts, chosen by parseYamlValues) gives
// exactly what the full parse gives — values, key order, errors, limits — or declines: checked
// on every YAML file of both shared corpora, on hand-picked texts at the subset's edges, and by
// fast-check on generated YAML and on corpus files with random edits (fixed seed in `npm test`;
// `npm run fuzz` runs more).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { documentValue, parseYamlText, parseYamlValues, yamlLimits, type DocumentValue, type YamlLimits } from '../../engine/loader/document';
import { plainYamlValues } from '../../engine/loader/plain-values';

const seed = Number(process.env.FUZZ_SEED ?? 20261206);
const runs = (n: number) => Number(process.env.FUZZ_RUNS ?? n);

const SHARED = resolve(__dirname, '../../../shared/conformance');
const CORPORA = ['kyverno-policies', 'kyverno-cli'].map((c) => join(SHARED, c));
const skip = CORPORA.every(existsSync) ? false : `conformance corpora not found under ${SHARED}`;

function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFilesUnder(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** What the full parse gives: the reference every answer of the fast path must equal. */
function fullParse(text: string, uniqueKeys: boolean, limits: YamlLimits): { docs: DocumentValue[]; overLimit?: string } {
  const parsed = parseYamlText(text, { uniqueKeys, limits });
  return {
    overLimit: parsed.overLimit,
    docs: parsed.docs.map((doc) => {
      const got = documentValue(doc, limits);
      const invalid = doc.errors.length > 0;
      return 'value' in got ? { value: got.value, invalid } : { value: undefined, conversionError: got.error, invalid };
    }),
  };
}

/** Object keys in order, all the way down (deepStrictEqual does not look at key order). */
function keyOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keyOrder);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, keyOrder(x)]);
  return null;
}

/**
 * The fast path's answer for `text`, when it gives one, equals the full parse's (which then has
 * no error and no limit passed); parseYamlValues equals the full parse always. Returns whether
 * the fast path answered.
 */
function checkText(text: string, limits: YamlLimits = yamlLimits(), label = JSON.stringify(text).slice(0, 200)): boolean {
  const fast = plainYamlValues(text, limits);
  for (const uniqueKeys of [true, false]) {
    const full = fullParse(text, uniqueKeys, limits);
    if (fast) {
      assert.equal(full.overLimit, undefined, `${label}: fast path answered a text over the limits`);
      for (const d of full.docs) {
        assert.equal(d.invalid, false, `${label}: fast path answered a text with parse errors`);
        assert.equal(d.conversionError, undefined, `${label}: fast path answered past a limit (${d.conversionError})`);
      }
      const values = full.docs.map((d) => d.value);
      assert.deepStrictEqual(fast, values, label);
      assert.deepStrictEqual(keyOrder(fast), keyOrder(values), `${label}: key order`);
    }
    const got = parseYamlValues(text, { uniqueKeys, limits });
    assert.deepStrictEqual(got, fast ? { docs: full.docs } : full, label);
  }
  return fast !== undefined;
}

test('every YAML file of both corpora: the fast path gives the full parse values, and takes nearly all library files', { skip }, () => {
  let answered = 0;
  let total = 0;
  for (const corpus of CORPORA) {
    for (const file of yamlFilesUnder(corpus)) {
      total++;
      if (checkText(readFileSync(file, 'utf8'), yamlLimits(), file)) answered++;
    }
  }
  // The point of the fast path: files as policy authors write them need no Document.
  assert.ok(answered / total > 0.9, `fast path answered only ${answered} of ${total} files`);
});

test('go-yaml v2 scalars, keys, block scalars and flow collections in the subset', () => {
  const texts = [
    'a: yes\nb: On\nc: y\nd: NO\ne: off\nf: "yes"\ng: True\non: push\nn: 1\n',
    'a: 0644\nb: 0x1F\nc: -0x1F\nd: 0o17\ne: 0b101\nf: 1_000\ng: +12\nh: 08\ni: 1e3\nj: 12abc\nk: .5\nl: -.inf\nm: .NaN\nn: 09.5\n',
    'a: 2024-01-01\nb: 1:20\nc: ~\nd: Null\ne:\n~: null key\n1: one\n0x10: sixteen\n',
    'msg: "tab\\there \\u00e9 \\x41 \\" \\\\ \\/"\nq: \'it\'\'s\'\nr: a#b\ns: a # comment\nt: "x" # c\n',
    'k: |\n  line 1\n\n   more\n  last\n\n\nl: |-\n  a\nm: |+\n  a\n\n\nn: >\n  a\n  b\n\n  c\n   indented\n  d\n',
    'k: >-\n\n  lead\n  fold\no: |\np: x\n',
    'list:\n- a\n- - b\n  - c\n-\n  d: 1\n- e: 2\n  f: [x, "y", {z: 1, w: [2]}]\n- {}\n- []\n',
    '# head\n---\na: 1\n---\n# empty\n---\n- x\n',
    '  indented: root\n  b: 2\n',
    'plain\n',
    'k: |\n  no final break',
    '--- # c\na: 1\n"q"  : b\nc: \'\'\nd: ""\ne: "\\x41\\u00e9\\U0001F600\\N\\_\\e\\0"\nf: \'x\'\'y\'\'\'\ng: ---\n',
    'a:\n  - x\n  -   y: 1\n      z: 2\n  - - |\n     x\n',
    'a: [ ]\nb: { }\nc: [ a , b ]\nd: {x: [1, {y: z}]}\ne: [a b, "c d"]\nf: 1 \ng:  \n',
    // Unicode spaces are no YAML white space: they stay in plain scalars and keys.
    'a: b\u00a0\nc\u00a0: d\ne: [f\u3000, g]\nh: i\u3000 # c\n',
    'k: >\n  folded\n  no final break',
  ];
  // Each is in the subset: the fast path answers, with the full parse's values.
  for (const t of texts) assert.equal(checkText(t), true, JSON.stringify(t));
});

test('texts outside the subset, with errors or past a limit take the full parse, which says why', () => {
  const declined = [
    'a: b: c\n',
    'a: &x 1\nb: *x\n',
    'a: !!str 1\n',
    'base: {x: 1}\nc:\n  <<: {y: 2}\n',
    '[{<<: name}]\n',
    'a: {<<: {b: 1}, c: 2}\n',
    'a: 1\na: 2\n',
    'a: 1\n"a": 2\n',
    '1: a\n"1": b\n',
    'a: multi\n  line plain\n',
    'a: "multi\n  line quoted"\n',
    'a: [1,\n  2]\n',
    'a:\n\tb: 1\n',
    'a: 1\r\nb: 2\r\n',
    '%YAML 1.1\n---\na: 1\n',
    'a: 1\n...\n',
    'a:\n    b: 1\n  c: 2\n',
    '? complex\n: key\n',
    'k: |2\n   explicit\n',
    'a: [1, 2,]\n',
    '__proto__: 1\n',
    'a: b\n  c: d\n',
    'a: "unclosed\n',
  ];
  for (const t of declined) {
    assert.equal(plainYamlValues(t, yamlLimits()), undefined, JSON.stringify(t));
    checkText(t);
  }
  // Limits: the fast path declines and the full parse reports them.
  const deep = 'a:\n  b:\n    c:\n      d: 1\n';
  assert.equal(plainYamlValues(deep, yamlLimits({ maxDepth: 3 })), undefined);
  assert.match(String(parseYamlValues(deep, { limits: { maxDepth: 3 } }).docs[0].conversionError), /nested too deeply/);
  assert.equal(plainYamlValues('a: [[[[1]]]]\n', yamlLimits({ maxDepth: 3 })), undefined);
  assert.equal(plainYamlValues('a: 1\n---\nb: 2\n---\nc: 3\n', yamlLimits({ maxDocuments: 2 })), undefined);
  assert.match(String(parseYamlValues('a: 1\n---\nb: 2\n---\nc: 3\n', { limits: { maxDocuments: 2 } }).overLimit), /too many YAML documents/);
  assert.match(String(parseYamlValues('a: 12345\n', { limits: { maxChars: 5 } }).overLimit), /input too large/);
  const dup = parseYamlValues('a: 1\na: 2\n', { uniqueKeys: true });
  assert.equal(dup.docs[0].invalid, true);
});

// --- generated YAML -------------------------------------------------------------------------

const SCALAR_SOURCES = [
  'on', 'Off', 'yes', 'y', 'N', '~', 'null', 'NULL', 'true', 'False', '0644', '0x1F', '0o17', '0b11', '1_000', '1e3', '.5', '-.inf',
  '.nan', '08', '09.5', '1:20', '2024-01-01', '-1', '+12', '-', 'a b', 'a#b', 'a #b', 'http://x:80', '-x', '?x', ':x', 'x:',
  'x: y', '[a]', '{a: 1}', '|', '>', '&a', '*a', '!t', '%x', '@x', '`x`', '', '<<', '__proto__', 'toString', '12abc', 'é', '😀',
  "it's", 'say "hi"', '- a', '#c', ',x', 'x,y', 'a]', '"q"', "'s'",
];
const CHARS = ['a', 'b', '1', ' ', '\u00a0', '\u3000', ':', '#', '-', '"', "'", '\\', '[', ']', '{', '}', ',', '.', '|', '>', '&', '*', '!', '?', 'n', 'u', 'x', '0'];

const WORDS = ['name', 'kind', 'Pod', 'v1', 'spec', 'a', 'b', 'x y', '1', '0', '-2', '3.5', 'true', 'no', 'CREATE', '*', '?*', 'a.b/c', '{{ x }}'];
const text = fc.oneof(
  { arbitrary: fc.constantFrom(...WORDS), weight: 3 },
  { arbitrary: fc.constantFrom(...SCALAR_SOURCES), weight: 1 },
  { arbitrary: fc.array(fc.constantFrom(...CHARS), { maxLength: 8 }).map((cs) => cs.join('')), weight: 1 },
);

type Tree = { t: 'scalar'; s: string; style: number; chomp: string } | { t: 'map'; entries: Array<[string, number, Tree]>; style: number } | { t: 'seq'; items: Tree[]; style: number };

const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('scalar' as const), s: fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 4 }).map((l) => l.join('\n'))), style: fc.nat(5), chomp: fc.constantFrom('', '-', '+') }),
    fc.record({ t: fc.constant('map' as const), entries: fc.array(fc.tuple(text, fc.nat(2), tie('node')), { maxLength: 4 }), style: fc.nat(4) }),
    fc.record({ t: fc.constant('seq' as const), items: fc.array(tie('node'), { maxLength: 4 }), style: fc.nat(4) }),
  ),
})).node;

function scalarInline(s: string, style: number): string {
  if (style === 1) return JSON.stringify(s);
  if (style === 2) return `'${s.replace(/'/g, "''")}'`;
  return s;
}

/** A tree as YAML text: block or flow, plain, quoted or block scalars, with comments and odd spacing. */
function render(node: Tree, indent: number, extra: number): string[] {
  const pad = ' '.repeat(indent);
  if (node.t === 'scalar') {
    if (node.style >= 3) {
      const header = `${node.style === 3 ? '|' : '>'}${node.chomp}`;
      return [header, ...node.s.split('\n').map((l) => (l === '' ? '' : `${pad}${' '.repeat(2 + extra)}${l}`))];
    }
    return [scalarInline(node.s, node.style)];
  }
  if (node.style === 0) {
    // one-line flow collection
    const flow = (n: Tree): string =>
      n.t === 'scalar' ? scalarInline(n.s, n.style % 3) : n.t === 'seq' ? `[${n.items.map(flow).join(', ')}]` : `{${n.entries.map(([k, ks, v]) => `${scalarInline(k, ks)}: ${flow(v)}`).join(', ')}}`;
    return [flow(node)];
  }
  const lines: string[] = [];
  const childIndent = indent + 2 + (node.style === 3 ? extra : 0);
  const items: Array<[string, Tree]> = node.t === 'map' ? node.entries.map(([k, ks, v]) => [`${scalarInline(k, ks)}:`, v]) : node.items.map((v) => ['-', v]);
  if (!items.length) return [node.t === 'map' ? '{}' : '[]'];
  for (const [head, v] of items) {
    const inner = render(v, childIndent, extra);
    const nested = v.t !== 'scalar' && !(v.style === 0) && inner[0] !== '{}' && inner[0] !== '[]';
    if (nested) {
      if (node.t === 'seq' && node.style === 2) {
        // compact: the first line of the child on the item's line
        const childLines = render(v, indent + 2, extra);
        lines.push(`${pad}- ${childLines[0].trimStart()}`, ...childLines.slice(1));
      } else {
        lines.push(`${pad}${head}${node.style === 4 ? ' # c' : ''}`, ...inner.map((l) => (l.startsWith(' ') || l === '' ? l : ' '.repeat(childIndent) + l)));
      }
    } else {
      lines.push(`${pad}${head} ${inner[0]}`, ...inner.slice(1));
    }
    if (node.style === 1) lines.push('');
  }
  return lines;
}

const generatedYaml = fc
  .tuple(fc.array(fc.tuple(tree, fc.nat(2)), { minLength: 1, maxLength: 3 }), fc.boolean(), fc.boolean())
  .map(([docs, marker, finalBreak]) => {
    const body = docs.map(([d, extra], i) => (i > 0 || marker ? '---\n' : '') + render(d, 0, extra).join('\n')).join('\n');
    return finalBreak ? `${body}\n` : body;
  });

const LIMITS = [yamlLimits(), yamlLimits({ maxDepth: 2 }), yamlLimits({ maxDocuments: 1 })];

test('fast-check: generated YAML reads the same through the fast path as through the full parse', () => {
  let answered = 0;
  fc.assert(
    fc.property(generatedYaml, fc.constantFrom(...LIMITS), (t, limits) => {
      if (checkText(t, limits)) answered++;
    }),
    { seed, numRuns: runs(400), includeErrorInReport: true },
  );
  // The generator must reach the fast path often, or the property checks little.
  assert.ok(answered > runs(400) / 10, `fast path answered only ${answered} generated texts`);
});

// --- corpus files with random edits ---------------------------------------------------------

const SNIPPETS = ['\n', ' ', '\u00a0', '  ', '- ', ': ', '#', ' #', '"', "'", '|', '>-', '&a ', '*a', '[', ']', '{', '}', ',', '---\n', '\\', 'on', '0644', '\t', '\r', ':'];

test('fast-check: corpus files with random edits read the same through the fast path as through the full parse', { skip }, () => {
  const files = yamlFilesUnder(CORPORA[0]).filter((_, i) => i % 7 === 0).map((f) => readFileSync(f, 'utf8'));
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), s: fc.constantFrom(...SNIPPETS) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), n: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ kind: fc.constant('indent' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), n: fc.integer({ min: -2, max: 2 }) }),
  );
  fc.assert(
    fc.property(fc.nat(files.length - 1), fc.array(edit, { minLength: 1, maxLength: 3 }), fc.constantFrom(...LIMITS), (fi, edits, limits) => {
      let t = files[fi];
      for (const e of edits) {
        const at = Math.floor(e.at * t.length);
        if (e.kind === 'insert') t = t.slice(0, at) + e.s + t.slice(at);
        else if (e.kind === 'delete') t = t.slice(0, at) + t.slice(at + e.n);
        else {
          const lines = t.split('\n');
          const li = Math.min(lines.length - 1, Math.floor(e.at * lines.length));
          lines[li] = e.n > 0 ? ' '.repeat(e.n) + lines[li] : lines[li].replace(new RegExp(`^ {0,${-e.n}}`), '');
          t = lines.join('\n');
        }
      }
      checkText(t, limits);
    }),
    { seed, numRuns: runs(300), includeErrorInReport: true },
  );
});
