/**
 * What a kyverno-test.yaml declares, with positions: one expectation per (results entry,
 * resource), so each can be a test item that links to its row. Pure (no vscode).
 */
import { isMap, isScalar, isSeq, type YAMLMap } from 'yaml';
import { classifyDocument } from '../../../engine/loader';
import { readTestSpec, type TestRow } from '../../../engine/testing';
import { documentValue, parseYamlText } from '../../../engine/loader';
import type { TextSpan } from '../yaml/locate';

export interface Expectation {
  id: string;
  /** Index in `results`. */
  entry: number;
  policy: string;
  rule: string;
  /** As written in the test (`name` or `namespace/name`); '' when the entry names none. */
  resource: string;
  kind: string;
  result: string;
  span?: TextSpan;
}

export interface DeclaredTest {
  name: string;
  expectations: Expectation[];
  /** Why the file cannot be read as a Test, if so. */
  error?: string;
}

function spanOf(node: unknown): TextSpan | undefined {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? { start: r[0], end: r[1] } : undefined;
}

function resultsNode(root: YAMLMap): unknown {
  const pair = root.items.find((p) => isScalar(p.key) && String(p.key.value).toLowerCase() === 'results');
  return pair?.value;
}

export function declaredTest(text: string): DeclaredTest {
  const { docs } = parseYamlText(text);
  const values = docs.map((d) => documentValue(d));
  const at = values.findIndex((v) => 'value' in v && classifyDocument(v.value) === 'test');
  if (at < 0) return { name: '', expectations: [], error: docs.some((d) => d.errors.length) ? 'YAML syntax error' : 'no cli.kyverno.io Test document' };
  const doc = docs[at];
  let spec;
  try {
    spec = readTestSpec((values[at] as { value: unknown }).value);
  } catch (e) {
    return { name: '', expectations: [], error: (e as Error).message };
  }
  const seq = isMap(doc.contents) ? resultsNode(doc.contents) : undefined;
  const expectations: Expectation[] = [];
  spec.results.forEach((r, entry) => {
    const node = isSeq(seq) ? seq.items[entry] : undefined;
    const resNode = isMap(node) ? node.get('resources', true) : undefined;
    const names = r.resources.length ? r.resources : [''];
    names.forEach((resource, i) => {
      const itemSpan = isSeq(resNode) ? spanOf(resNode.items[i]) : undefined;
      expectations.push({
        id: `${entry}:${r.policy}/${r.rule}/${resource}`,
        entry,
        policy: r.policy,
        rule: r.rule,
        resource,
        kind: r.kind,
        result: r.result,
        span: itemSpan ?? spanOf(node),
      });
    });
  });
  return { name: spec.name, expectations };
}

function sameResource(written: string, reported: string): boolean {
  if (written === reported) return true;
  // `name` in the test and `default/name` reported (or the reverse).
  const tail = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  return !written.includes('/') || !reported.includes('/') ? tail(written) === tail(reported) : false;
}

/** The expectation a result row decides (undefined when the row matches none of them). */
export function expectationOf(row: TestRow, expectations: Expectation[]): Expectation | undefined {
  const candidates = expectations.filter(
    (e) => e.policy === row.policy && e.rule === row.rule && (e.resource === '' || sameResource(e.resource, row.resource)),
  );
  return candidates.find((e) => e.result === row.expected) ?? candidates[0];
}

