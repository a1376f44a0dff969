/**
 * GeneratingPolicy `generate[].template`: resources written as YAML (one or more documents)
 * instead of a `generator.Apply` expression (Kyverno's pkg/cel/policies/gpol/template).
 *
 * With `interpolate: cel`, `(( expr ))` placeholders are CEL expressions evaluated in the
 * policy's activation (object, variables, ...):
 * - a placeholder that is a whole scalar is spliced as a value of any type (map, list, scalar);
 * - a placeholder inside a longer string is interpolated and must give a scalar;
 * - placeholders in mapping keys and `<<` merge keys beside placeholders are refused;
 * - `\((` writes a literal `((`.
 * Without interpolation the template is plain YAML. Kyverno decodes it with go-yaml v3, whose
 * scalars are YAML 1.2's: the `yaml` package's default schema reads them the same way.
 */
import { Alias, isAlias, isMap, isNode, isScalar, isSeq, parseAllDocuments, type Node } from 'yaml';
import { fromCel } from './values';

interface Segment {
  literal?: string;
  expression?: string;
}

/** Splits a scalar into literal and `(( ))` segments, aware of nested parentheses and CEL string literals. */
export function scanPlaceholders(s: string): Segment[] {
  const segments: Segment[] = [];
  let literal = '';
  const flush = () => {
    if (literal !== '') segments.push({ literal });
    literal = '';
  };
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('\\((', i)) {
      literal += '((';
      i += 3;
      continue;
    }
    if (s.startsWith('((', i)) {
      const { expression, next } = scanPlaceholder(s, i);
      flush();
      segments.push({ expression });
      i = next;
      continue;
    }
    literal += s[i];
    i++;
  }
  flush();
  return segments;
}

function scanPlaceholder(s: string, start: number): { expression: string; next: number } {
  let depth = 0;
  let quote = '';
  let i = start + 2;
  while (i < s.length) {
    const c = s[i];
    if (quote) {
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === quote) quote = '';
      i++;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') {
      if (depth > 0) depth--;
      else if (s[i + 1] === ')') {
        const expression = s.slice(start + 2, i).trim();
        if (expression === '') throw new Error(`empty placeholder at offset ${start}`);
        return { expression, next: i + 2 };
      } else throw new Error(`unbalanced parenthesis in placeholder starting at offset ${start}`);
    }
    i++;
  }
  if (quote) throw new Error(`unterminated string literal in placeholder starting at offset ${start}`);
  throw new Error(`unterminated placeholder starting at offset ${start}: missing closing '))'`);
}

function containsPlaceholder(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s.startsWith('\\((', i)) {
      i += 2;
      continue;
    }
    if (s.startsWith('((', i)) return true;
  }
  return false;
}

type Evaluate = (expression: string) => unknown;

/** A rendered template piece; `line` is 1-based in the template text. */
type Compiled = (evaluate: Evaluate) => unknown;

class TemplateError extends Error {}

function lineOf(node: Node | null | undefined, lineStarts: number[]): number {
  const offset = node?.range?.[0] ?? 0;
  let line = 0;
  while (line + 1 < lineStarts.length && lineStarts[line + 1] <= offset) line++;
  return line + 1;
}

function hasPlaceholder(node: unknown): boolean {
  if (isAlias(node)) return false;
  if (isScalar(node)) return typeof node.value === 'string' && (containsPlaceholder(node.value) || node.value.includes('\\(('));
  if (isMap(node)) return node.items.some((p) => hasPlaceholder(p.key) || hasPlaceholder(p.value));
  if (isSeq(node)) return node.items.some(hasPlaceholder);
  return false;
}

function scalarText(v: unknown, expression: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  throw new TemplateError(
    `placeholder "${expression}" embedded in a string must evaluate to a scalar; use a whole-value placeholder for structured results`,
  );
}

function evaluatePlaceholder(evaluate: Evaluate, expression: string): unknown {
  try {
    return fromCel(evaluate(expression));
  } catch (e) {
    throw new TemplateError(`failed to evaluate placeholder "${expression}": ${(e as Error).message}`);
  }
}

function compileNode(node: unknown, doc: { toJS(node: unknown): unknown }, lineStarts: number[], interpolate: boolean): Compiled {
  if (!interpolate || !hasPlaceholder(node)) {
    const value = doc.toJS(node);
    return () => structuredClone(value);
  }
  const line = lineOf(node as Node, lineStarts);
  if (isMap(node)) {
    const entries: Array<[string, Compiled]> = [];
    for (const pair of node.items) {
      if (!isScalar(pair.key)) throw new TemplateError(`line ${line}: only scalar mapping keys are supported`);
      const key = String(pair.key.value);
      if (containsPlaceholder(key)) {
        throw new TemplateError(
          `line ${lineOf(pair.key, lineStarts)}: placeholders are not supported in mapping keys; use a whole-value placeholder on the parent field instead (e.g. \`labels: (( variables.labels ))\`)`,
        );
      }
      if (key === '<<') throw new TemplateError(`line ${lineOf(pair.key, lineStarts)}: YAML merge keys are not supported in subtrees containing placeholders`);
      entries.push([key, compileNode(pair.value, doc, lineStarts, interpolate)]);
    }
    return (evaluate) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of entries) {
        try {
          out[key] = value(evaluate);
        } catch (e) {
          throw new TemplateError(`field "${key}": ${(e as Error).message}`);
        }
      }
      return out;
    };
  }
  if (isSeq(node)) {
    const items = node.items.map((item) => compileNode(item, doc, lineStarts, interpolate));
    return (evaluate) =>
      items.map((item, i) => {
        try {
          return item(evaluate);
        } catch (e) {
          throw new TemplateError(`item ${i}: ${(e as Error).message}`);
        }
      });
  }
  if (isScalar(node) && typeof node.value === 'string') {
    let segments: Segment[];
    try {
      segments = scanPlaceholders(node.value);
    } catch (e) {
      throw new TemplateError(`line ${line}: ${(e as Error).message}`);
    }
    const expressions = segments.filter((s) => s.expression !== undefined);
    if (expressions.length === 0) {
      const text = segments.map((s) => s.literal ?? '').join('');
      return () => text;
    }
    if (segments.length === 1) {
      const expression = segments[0].expression!;
      return (evaluate) => evaluatePlaceholder(evaluate, expression);
    }
    return (evaluate) =>
      segments
        .map((s) => (s.expression === undefined ? s.literal! : scalarText(evaluatePlaceholder(evaluate, s.expression), s.expression)))
        .join('');
  }
  throw new TemplateError(`line ${line}: unsupported YAML node`);
}

export interface CompiledTemplate {
  render(evaluate: Evaluate): Record<string, unknown>[];
}

/** Parses and compiles a template; errors read as Kyverno's (`line N: ...`). */
export function compileGenerationTemplate(template: unknown): CompiledTemplate {
  const t = template && typeof template === 'object' ? (template as Record<string, unknown>) : {};
  const text = typeof t.value === 'string' ? t.value : '';
  const interpolate = t.interpolate === 'cel';
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const docs: Compiled[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new TemplateError(`failed to parse YAML: ${doc.errors[0].message}`);
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) continue;
    const resolved = isAlias(root) ? (root as Alias).resolve(doc) : root;
    const toJS = (n: unknown): unknown => (isNode(n) ? n.toJS(doc, { maxAliasCount: 100 }) : n);
    const compiled = compileNode(resolved, { toJS }, lineStarts, interpolate);
    const mappingRoot = isMap(resolved) || (interpolate && isScalar(resolved) && typeof resolved.value === 'string' && containsPlaceholder(resolved.value));
    if (!mappingRoot) throw new TemplateError(`line ${lineOf(resolved as Node, lineStarts)}: document must be a mapping describing a resource`);
    docs.push(compiled);
  }
  if (docs.length === 0) throw new TemplateError('template must contain at least one YAML document');
  return {
    render(evaluate) {
      return docs.map((doc, i) => {
        let value: unknown;
        try {
          value = doc(evaluate);
        } catch (e) {
          throw new TemplateError(`document ${i + 1}: ${(e as Error).message}`);
        }
        if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TemplateError(`document ${i + 1}: expected a mapping describing a resource`);
        return value as Record<string, unknown>;
      });
    },
  };
}
