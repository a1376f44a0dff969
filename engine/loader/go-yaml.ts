/**
 * YAML as Kyverno reads it. The Kyverno CLI decodes policies, resources, values and tests with
 * sigs.k8s.io/yaml, whose YAML → JSON step is go-yaml v2 (YAML 1.1 scalars, libyaml's scanner).
 * The `yaml` package reads YAML 1.2 by default; the differences authors actually hit are
 * evened out here:
 * - plain scalars resolve as go-yaml v2 does (resolve.go): `y`/`yes`/`on`/`off`/`n`/`no` are
 *   booleans (also as keys: `on:` becomes the key "true"), `0644` is octal, `1_000` and `0b11`
 *   are numbers, `0o17` is 15, timestamps and `1:20` stay strings;
 * - `<<` merge keys are merged;
 * - a quoted scalar may continue on lines indented less than its key (libyaml does not check
 *   the indentation of quoted scalars; the `yaml` package rejects it).
 * Duplicate keys keep the last value, as go-yaml v2's non-strict decoding does.
 */
import type { ParseOptions, DocumentOptions, SchemaOptions, ScalarTag } from 'yaml';

const TAG = 'tag:yaml.org,2002:';

/** strconv.ParseInt/ParseUint(s, 0, 64) after go-yaml removed underscores: base from the prefix. */
function goParseInteger(s: string): number | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const digits = m[2];
  let value: number;
  if (/^0[xXoObB]/.test(digits)) value = Number(digits.slice(0, 2).toLowerCase() + digits.slice(2));
  else if (digits.length > 1 && digits[0] === '0') value = parseInt(digits.slice(1), 8);
  else value = Number(digits);
  return m[1] === '-' ? -value : value;
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/**
 * go-yaml v2's resolution of a plain scalar that starts with a digit or a sign (its 'D' and
 * 'S' hints): integer (any Go base prefix), then float; anything else stays a string.
 */
export function resolveGoNumber(text: string): number | string {
  const plain = text.replace(/_/g, '');
  const int = goParseInteger(plain);
  if (int !== undefined) return int;
  if (YAML_STYLE_FLOAT.test(plain)) return Number(plain);
  return text;
}

const goTags: ScalarTag[] = [
  { tag: `${TAG}null`, default: true, test: /^(?:~|null|Null|NULL)?$/, resolve: () => null, identify: (v: unknown) => v === null || v === undefined, stringify: () => 'null' } as ScalarTag,
  { tag: `${TAG}bool`, default: true, test: /^(?:y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$/, resolve: () => true, identify: (v: unknown) => v === true, stringify: () => 'true' } as ScalarTag,
  { tag: `${TAG}bool`, default: true, test: /^(?:n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$/, resolve: () => false, identify: (v: unknown) => v === false, stringify: () => 'false' } as ScalarTag,
  {
    tag: `${TAG}float`,
    default: true,
    test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    resolve: (s: string) => (/nan/i.test(s) ? NaN : s.startsWith('-') ? -Infinity : Infinity),
    identify: (v: unknown) => typeof v === 'number' && !Number.isFinite(v),
    stringify: ({ value }: { value: unknown }) => (Number.isNaN(value) ? '.nan' : (value as number) < 0 ? '-.inf' : '.inf'),
  } as ScalarTag,
  // Leading '.': go-yaml tries strconv.ParseFloat on it ('.5', '.5e3').
  { tag: `${TAG}float`, default: true, test: /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/, resolve: (s: string) => Number(s) } as ScalarTag,
  // Leading digit or sign: the value is decided by resolveGoNumber, which may keep the string.
  {
    tag: `${TAG}int`,
    default: true,
    test: /^[-+]?[0-9][0-9a-zA-Z_.+-]*$/,
    resolve: resolveGoNumber,
    identify: (v: unknown) => (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'bigint',
    stringify: ({ value }: { value: unknown }) => String(value),
  } as ScalarTag,
];

/**
 * The value of an untagged plain scalar (already folded) under GO_YAML_OPTIONS, resolved by the
 * same tags in the same order as the `yaml` package picks them (first default tag whose test
 * matches; none: a string). The workspace scan's fast path (plain-values.ts) resolves with it.
 */
export function resolveGoPlainScalar(source: string): unknown {
  for (const tag of goTags) {
    if (tag.test!.test(source)) return tag.resolve(source, () => undefined, {} as never);
  }
  return source;
}

/**
 * Options for the `yaml` package that make it resolve scalars like go-yaml v2; given to
 * `stringify`, they quote the strings go-yaml would read as something else (`"no"`, `"0644"`).
 */
export const GO_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  merge: true,
  // map, seq and str come from the core schema; every other scalar type is go-yaml's.
  customTags: (tags) => [...tags.filter((t) => typeof t === 'object' && [`${TAG}map`, `${TAG}seq`, `${TAG}str`].includes(t.tag)), ...goTags],
};

/**
 * Indents the continuation lines of multi-line quoted scalars so that the `yaml` package
 * accepts what libyaml accepts. A continuation line's leading whitespace is folded away, so
 * the value is unchanged; lines keep their numbers (positions stay right). Only text the
 * plain parse rejected for an unclosed quote comes here.
 */
export function indentQuotedContinuations(text: string): string {
  const lines = text.split('\n');
  let blockIndent = -1; // inside a block scalar: lines indented more than this belong to it
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const indent = line.length - line.trimStart().length;
    if (blockIndent >= 0) {
      if (line.trim() === '' || indent > blockIndent) {
        i++;
        continue;
      }
      blockIndent = -1;
    }
    const opened = scanLine(line);
    if (opened.blockScalar) blockIndent = indent;
    if (opened.quote === null) {
      i++;
      continue;
    }
    // An unclosed quote: following lines continue the scalar until the closing quote.
    const minIndent = opened.column + 1;
    let quote: string | null = opened.quote;
    let j = i + 1;
    while (quote !== null && j < lines.length) {
      const next = lines[j];
      if (/^(?:---|\.\.\.)(?:\s|$)/.test(next)) break; // a document marker ends it, as in libyaml
      const nextIndent = next.length - next.trimStart().length;
      if (next.trim() !== '' && nextIndent < minIndent) lines[j] = ' '.repeat(minIndent - nextIndent) + next;
      const close = closingQuote(lines[j], 0, quote);
      if (close >= 0) {
        quote = null;
        // The rest of the line after the closing quote may open another scalar or a block one.
        const rest = scanLine(lines[j], close + 1);
        if (rest.blockScalar) blockIndent = nextIndent;
        if (rest.quote !== null) {
          quote = rest.quote;
        }
      }
      j++;
    }
    i = j;
  }
  return lines.join('\n');
}

/** Index of the quote closing a scalar in `line` from `from`, or -1 when it continues. */
function closingQuote(line: string, from: number, quote: string): number {
  for (let k = from; k < line.length; k++) {
    const c = line[k];
    if (quote === '"' && c === '\\') {
      k++;
      continue;
    }
    if (c === quote) {
      if (quote === "'" && line[k + 1] === "'") {
        k++;
        continue;
      }
      return k;
    }
  }
  return -1;
}

/**
 * Scans one line outside any scalar: reports a quoted scalar left open at its end (and the
 * column where it started) and whether the line ends with a block scalar indicator.
 */
function scanLine(line: string, from = 0): { quote: string | null; column: number; blockScalar: boolean } {
  let prev = ''; // last non-space character before the current one
  for (let k = from; k < line.length; k++) {
    const c = line[k];
    if (c === ' ' || c === '\t') continue;
    if (c === '#' && (k === 0 || line[k - 1] === ' ' || line[k - 1] === '\t')) break;
    const tokenStart = prev === '' || prev === ':' || prev === '-' || prev === '[' || prev === '{' || prev === ',' || prev === '?';
    if ((c === '"' || c === "'") && tokenStart) {
      const close = closingQuote(line, k + 1, c);
      if (close < 0) return { quote: c, column: k, blockScalar: false };
      k = close;
      prev = c;
      continue;
    }
    if ((c === '|' || c === '>') && (prev === ':' || prev === '-' || prev === '')) {
      const rest = line.slice(k + 1);
      if (/^[-+0-9]*\s*(?:#.*)?$/.test(rest)) return { quote: null, column: 0, blockScalar: true };
    }
    // Inside a plain scalar no quote opens a scalar: only indicators make `prev` a token start.
    prev = c;
  }
  return { quote: null, column: 0, blockScalar: false };
}
