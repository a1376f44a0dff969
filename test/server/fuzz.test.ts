// Property-based tests (fast-check) of the language service on real corpus policies:
// (1) a wrong-typed value anywhere leaves every diagnostic outside it in place and is itself
// reported; (2) after every random edit, the incremental re-parse gives the same diagnostics
// as a fresh parse of the same text. Fixed seed in `npm test`; `npm run fuzz` runs more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { isMap, isSeq, isScalar, type Node as YamlNode, type Pair } from 'yaml';
import { parseFile, validateFile, Codes, type Diagnostic, type ParsedFile } from '../../server/src/service';
import { reparseFile } from '../../server/src/service/reparse';
import { positionAt, type JsonPath } from '../../server/src/service/documents';
import { schemaFor, documentedSchema, subSchema } from '../../server/src/service/schemas';
import { DEFAULT_CORPUS, policyFiles } from '../../server/tools/corpus-check';

const seed = Number(process.env.FUZZ_SEED ?? 20261206);
const runs = (n: number) => Number(process.env.FUZZ_RUNS ?? n);
const present = existsSync(DEFAULT_CORPUS);
const skip = present ? false : `conformance corpus not found at ${DEFAULT_CORPUS}`;

/** A spread of single-document corpus policies (classic and CEL), read once. */
function corpusPolicies(count: number): Array<{ file: string; text: string }> {
  const all = policyFiles(DEFAULT_CORPUS)
    .map((file) => ({ file, text: readFileSync(file, 'utf8') }))
    .filter(({ text }) => !/^---/m.test(text.trim().slice(3)) && text.length < 12000)
    .sort((a, b) => (a.file < b.file ? -1 : 1));
  const step = Math.max(1, Math.floor(all.length / count));
  return all.filter((_, i) => i % step === 0).slice(0, count);
}

const PLANTED = 'kyvernoStudioPlanted';

/** Adds an unknown field (an Error diagnostic) to spec and to every rule or validation item. */
function plantErrors(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let listIndent = -1;
  for (const line of lines) {
    out.push(line);
    if (/^spec:\s*$/.test(line)) out.push(`  ${PLANTED}: x`);
    const list = /^(\s*)(rules|validations):\s*$/.exec(line);
    if (list) {
      listIndent = list[1].length;
      continue;
    }
    const item = /^(\s*)- (name|expression): /.exec(line);
    if (item && listIndent >= 0 && item[1].length >= listIndent && item[1].length <= listIndent + 2) out.push(`${item[1]}  ${PLANTED}: x`);
  }
  return out.join('\n');
}

interface Target { path: JsonPath; node: YamlNode; isKey: false }

/** Every value node under spec (scalars and collections), with its path. */
function targets(file: ParsedFile): Target[] {
  const out: Target[] = [];
  const walk = (node: YamlNode | null | undefined, path: JsonPath, depth: number) => {
    if (!node || depth > 30) return;
    if (path.length > 1) out.push({ path, node, isKey: false });
    if (isMap(node)) {
      for (const p of node.items as Pair<YamlNode, YamlNode>[]) {
        if (!isScalar(p.key) || String(p.key.value) === PLANTED) continue;
        walk(p.value, [...path, String(p.key.value)], depth + 1);
      }
    } else if (isSeq(node)) node.items.forEach((it, i) => walk(it as YamlNode, [...path, i], depth + 1));
  };
  const spec = (file.docs[0].doc.contents as YamlNode & { items: Pair<YamlNode, YamlNode>[] }).items.find((p) => isScalar(p.key) && p.key.value === 'spec');
  walk(spec?.value, ['spec'], 0);
  return out.filter((t) => t.node.range);
}

const REPLACEMENTS = [
  { label: 'scalar', text: 'just-a-string', type: 'string' },
  { label: 'mapping', text: '{kyvernoStudioKey: 1}', type: 'object' },
  { label: 'number', text: '42', type: 'integer' },
  { label: 'list', text: '[1, 2]', type: 'array' },
  { label: 'null', text: 'null', type: 'null' },
] as const;

const key = (d: Diagnostic, lineShift = 0) => `${d.code}@${d.range.start.line + lineShift}:${d.range.start.character}-${d.range.end.line + lineShift}:${d.range.end.character} ${d.message}`;

function schemaTypes(file: ParsedFile, path: JsonPath): string[] | undefined {
  const pd = file.docs[0];
  const entry = schemaFor(pd.apiVersion, pd.kind, file.uri, pd.value);
  if (!entry) return undefined;
  const s = subSchema(documentedSchema(entry), path) as { type?: string | string[]; 'x-kubernetes-int-or-string'?: boolean; 'x-kubernetes-preserve-unknown-fields'?: boolean } | undefined;
  if (!s || s['x-kubernetes-int-or-string'] || s['x-kubernetes-preserve-unknown-fields'] || !s.type) return undefined;
  return Array.isArray(s.type) ? s.type : [s.type];
}

test('a wrong-typed value anywhere: every diagnostic outside it stays, and it is reported', { skip }, () => {
  const policies = corpusPolicies(40).map(({ file, text }) => {
    const planted = plantErrors(text);
    const parsed = parseFile(`file://${file}`, planted);
    return { file, text: planted, parsed, targets: targets(parsed), before: validateFile(parsed) };
  }).filter((p) => p.targets.length && p.parsed.docs.length === 1 && !p.parsed.docs[0].doc.errors.length);
  assert.ok(policies.length >= 20, `${policies.length} corpus policies`);
  fc.assert(fc.property(
    fc.integer({ min: 0, max: policies.length - 1 }),
    fc.nat(),
    fc.integer({ min: 0, max: REPLACEMENTS.length - 1 }),
    (pi, ti, ri) => {
      const p = policies[pi];
      const t = p.targets[ti % p.targets.length];
      const r = REPLACEMENTS[ri];
      let [start, end] = t.node.range!;
      // A block collection's range runs to the next line: keep that line break.
      let valueEnd = end;
      while (valueEnd > start && /\s/.test(p.text[valueEnd - 1])) valueEnd--;
      // A block value on the lines below its key: the new value goes on the key's line.
      let keyEnd = start;
      while (keyEnd > 0 && /\s/.test(p.text[keyEnd - 1])) keyEnd--;
      const onKeyLine = p.text[keyEnd - 1] === ':' && p.text.slice(keyEnd, start).includes('\n');
      if (onKeyLine) start = keyEnd;
      const text = p.text.slice(0, start) + (onKeyLine ? ' ' : '') + r.text + p.text.slice(valueEnd);
      const changed = parseFile(p.parsed.uri, text);
      fc.pre(changed.docs.length === 1 && changed.docs[0].doc.errors.length === 0);
      const after = validateFile(changed);
      const where = `${p.file} ${t.path.join('.')} -> ${r.label}`;
      assert.deepEqual(after.filter((d) => d.code === Codes.internalError), [], where);
      const firstLine = positionAt(p.parsed, start).line;
      const lastLine = positionAt(p.parsed, valueEnd).line;
      const lineShift = -(lastLine - firstLine);
      const published = new Set(after.map((d) => key(d)));
      for (const d of p.before) {
        if (d.code !== Codes.unknownField || !d.message.includes(PLANTED)) continue;
        if (d.range.end.line < firstLine) assert.ok(published.has(key(d)), `${where}: lost ${key(d)}`);
        else if (d.range.start.line > lastLine) assert.ok(published.has(key(d, lineShift)), `${where}: lost ${key(d)}`);
      }
      const types = schemaTypes(p.parsed, t.path);
      const fits = types?.some((ty) => ty === r.type || (ty === 'number' && r.type === 'integer'));
      if (types && !fits) {
        assert.ok(after.some((d) => d.range.start.line >= firstLine && d.range.start.line <= firstLine + 1 && d.severity <= 2),
          `${where}: no error or warning at the value (schema type ${types.join('|')})`);
      }
    },
  ), { seed, numRuns: runs(150), includeErrorInReport: true });
});

/** One random edit: a position (fraction of the text), how much to delete, what to insert. */
const EDIT = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  /** Snap to the start of the line: re-indenting is what changes YAML structure most. */
  lineStart: fc.boolean(),
  remove: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 4, max: 40 })),
  insert: fc.oneof(
    fc.constantFrom('', ' ', '  ', '\n', '\n  ', '- ', ': ', 'x', 'name', '{{ ', ' }}', '"', '#', '[', ']', '\n- name: z\n', '  validate:\n', '\t'),
    fc.string({ maxLength: 6 }),
  ),
});

/** Indenting or dedenting one line by two spaces. */
const REINDENT = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  lineStart: fc.constant(true),
  remove: fc.constantFrom(0, 2),
}).map((e) => ({ ...e, insert: e.remove ? '' : '  ' }));

test('after every random edit the incremental re-parse publishes what a fresh parse does', { skip }, () => {
  const policies = corpusPolicies(24);
  fc.assert(fc.property(
    fc.integer({ min: 0, max: policies.length - 1 }),
    fc.array(fc.oneof(EDIT, REINDENT), { minLength: 1, maxLength: 12 }),
    (pi, edits) => {
      const { file, text: original } = policies[pi];
      const uri = `file://${file}`;
      let text = original;
      let incremental = parseFile(uri, text);
      for (const e of edits) {
        let at = Math.floor(e.at * text.length);
        if (e.lineStart) at = text.lastIndexOf('\n', at - 1) + 1;
        text = text.slice(0, at) + e.insert + text.slice(Math.min(text.length, at + e.remove));
        incremental = reparseFile(incremental, text);
        const fresh = parseFile(uri, text);
        assert.deepEqual(incremental.docs.map((d) => d.value), fresh.docs.map((d) => d.value), `values after edit ${JSON.stringify(e)}`);
        assert.deepEqual(validateFile(incremental).map((d) => key(d)), validateFile(fresh).map((d) => key(d)), `diagnostics after edit ${JSON.stringify(e)}`);
      }
    },
  ), { seed, numRuns: runs(120), includeErrorInReport: true });
});
