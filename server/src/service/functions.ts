/**
 * JMESPath functions available inside `{{ }}` (standard, community and Kyverno ones), with
 * signatures for completion, hover and arity checks. When engine/jmespath exports
 * FUNCTION_DOCS, its entries override these.
 */
import { engineExport } from './engine-adapter';

export interface FunctionDoc {
  name: string;
  signature: string;
  description: string;
  minArgs: number;
  /** -1: variadic. */
  maxArgs: number;
  kyverno?: boolean;
}

function f(name: string, args: string, ret: string, description: string, min: number, max = min, kyverno = false): FunctionDoc {
  return { name, signature: `${name}(${args}) ${ret}`, description, minArgs: min, maxArgs: max, kyverno };
}

const BUILTIN: FunctionDoc[] = [
  f('abs', 'number', 'number', 'Absolute value.', 1),
  f('avg', 'array[number]', 'number', 'Average of the numbers.', 1),
  f('ceil', 'number', 'number', 'Smallest integer not less than the argument.', 1),
  f('contains', 'array|string subject, any search', 'boolean', 'Whether subject contains search.', 2),
  f('ends_with', 'string, string suffix', 'boolean', 'Whether the string ends with suffix.', 2),
  f('floor', 'number', 'number', 'Greatest integer not greater than the argument.', 1),
  f('join', 'string glue, array[string]', 'string', 'Joins the strings with glue.', 2),
  f('keys', 'object', 'array', 'Keys of an object.', 1),
  f('length', 'string|array|object', 'number', 'Length of a string, array or object.', 1),
  f('map', '&expression, array', 'array', 'Applies the expression to every element.', 2),
  f('max', 'array[number]|array[string]', 'number', 'Largest element.', 1),
  f('max_by', 'array, &expression', 'any', 'Element with the largest expression value.', 2),
  f('merge', 'object...', 'object', 'Merges objects, later keys win.', 1, -1),
  f('min', 'array[number]|array[string]', 'number', 'Smallest element.', 1),
  f('min_by', 'array, &expression', 'any', 'Element with the smallest expression value.', 2),
  f('not_null', 'any...', 'any', 'First argument that is not null.', 1, -1),
  f('reverse', 'string|array', 'string|array', 'Reverses a string or array.', 1),
  f('sort', 'array[number]|array[string]', 'array', 'Sorts the array.', 1),
  f('sort_by', 'array, &expression', 'array', 'Sorts by the expression value.', 2),
  f('starts_with', 'string, string prefix', 'boolean', 'Whether the string starts with prefix.', 2),
  f('sum', 'array[number]', 'number', 'Sum of the numbers.', 1),
  f('to_array', 'any', 'array', 'Wraps a non-array in an array.', 1),
  f('to_number', 'any', 'number', 'Converts to a number (null when impossible).', 1),
  f('to_string', 'any', 'string', 'Converts to a string (JSON for non-strings).', 1),
  f('type', 'any', 'string', 'Type name: number, string, boolean, array, object, null.', 1),
  f('values', 'object', 'array', 'Values of an object.', 1),
  // JMESPath community edition (the dialect Kyverno embeds).
  f('find_first', 'string subject, string sub, number start?, number end?', 'number|null', 'Index of the first occurrence of sub.', 2, 4),
  f('find_last', 'string subject, string sub, number start?, number end?', 'number|null', 'Index of the last occurrence of sub.', 2, 4),
  f('from_items', 'array[[string, any]]', 'object', 'Builds an object from key/value pairs.', 1),
  f('group_by', 'array, &expression', 'object', 'Groups elements by the expression value.', 2),
  f('let', 'object scope, &expression', 'any', 'Evaluates the expression with extra variables.', 2),
  f('lower', 'string', 'string', 'Lower-cases the string.', 1),
  f('upper', 'string', 'string', 'Upper-cases the string.', 1),
  f('pad_left', 'string, number width, string pad?', 'string', 'Pads on the left to width.', 2, 3),
  f('pad_right', 'string, number width, string pad?', 'string', 'Pads on the right to width.', 2, 3),
  f('trim_left', 'string, string chars?', 'string', 'Removes leading characters.', 1, 2),
  f('trim_right', 'string, string chars?', 'string', 'Removes trailing characters.', 1, 2),
  f('zip', 'array...', 'array', 'Zips arrays together.', 1, -1),
];

const K = true;
const KYVERNO: FunctionDoc[] = [
  f('compare', 'string a, string b', 'number', 'Compares two strings lexicographically (-1, 0, 1).', 2, 2, K),
  f('equal_fold', 'string a, string b', 'boolean', 'Case-insensitive string equality.', 2, 2, K),
  f('replace', 'string str, string old, string new, number n', 'string', 'Replaces the first n occurrences of old (n < 0: all).', 4, 4, K),
  f('replace_all', 'string str, string old, string new', 'string', 'Replaces every occurrence of old.', 3, 3, K),
  f('to_upper', 'string', 'string', 'Upper-cases the string.', 1, 1, K),
  f('to_lower', 'string', 'string', 'Lower-cases the string.', 1, 1, K),
  f('trim', 'string str, string cutset', 'string', 'Removes leading and trailing characters in cutset.', 2, 2, K),
  f('trim_prefix', 'string str, string prefix', 'string', 'Removes prefix when present.', 2, 2, K),
  f('split', 'string str, string sep', 'array[string]', 'Splits str on sep.', 2, 2, K),
  f('regex_replace_all', 'string regex, string|number src, string|number replace', 'string', 'Replaces regex matches, expanding $1 references.', 3, 3, K),
  f('regex_replace_all_literal', 'string regex, string|number src, string|number replace', 'string', 'Replaces regex matches literally.', 3, 3, K),
  f('regex_match', 'string regex, string|number src', 'boolean', 'Whether src matches the RE2 regex.', 2, 2, K),
  f('pattern_match', 'string pattern, string|number src', 'boolean', 'Whether src matches the wildcard pattern (* and ?).', 2, 2, K),
  f('label_match', 'object selector, object labels', 'boolean', 'Whether every selector label is in labels.', 2, 2, K),
  f('to_boolean', 'string', 'boolean', 'Parses "true"/"false" (case-insensitive).', 1, 1, K),
  f('add', 'number|quantity|duration a, number|quantity|duration b', 'any', 'Adds numbers, quantities or durations.', 2, 2, K),
  f('subtract', 'number|quantity|duration a, number|quantity|duration b', 'any', 'Subtracts b from a.', 2, 2, K),
  f('multiply', 'number|quantity|duration a, number b', 'any', 'Multiplies a by b.', 2, 2, K),
  f('divide', 'number|quantity|duration a, number|quantity|duration b', 'any', 'Divides a by b (error on zero).', 2, 2, K),
  f('modulo', 'number|quantity|duration a, number|quantity|duration b', 'any', 'Remainder of a / b.', 2, 2, K),
  f('round', 'number value, number digits', 'number', 'Rounds to the given number of decimals.', 2, 2, K),
  f('base64_decode', 'string', 'string', 'Decodes standard base64.', 1, 1, K),
  f('base64_encode', 'string', 'string', 'Encodes to standard base64.', 1, 1, K),
  f('time_since', 'string layout, string ts1, string ts2', 'string', 'Duration from ts1 to ts2 (now when empty).', 3, 3, K),
  f('time_now', '', 'string', 'Current time (RFC 3339, local zone).', 0, 0, K),
  f('time_now_utc', '', 'string', 'Current time (RFC 3339, UTC).', 0, 0, K),
  f('time_add', 'string time, string duration', 'string', 'Adds a Go duration to an RFC 3339 time.', 2, 2, K),
  f('time_parse', 'string layout, string ts', 'string', 'Parses ts with a Go layout into RFC 3339.', 2, 2, K),
  f('time_to_cron', 'string time', 'string', 'Cron expression for the time.', 1, 1, K),
  f('time_utc', 'string time', 'string', 'Converts an RFC 3339 time to UTC.', 1, 1, K),
  f('time_diff', 'string t1, string t2', 'string', 'Duration between two RFC 3339 times.', 2, 2, K),
  f('time_before', 'string t1, string t2', 'boolean', 'Whether t1 is before t2.', 2, 2, K),
  f('time_after', 'string t1, string t2', 'boolean', 'Whether t1 is after t2.', 2, 2, K),
  f('time_between', 'string t, string start, string end', 'boolean', 'Whether t is between start and end.', 3, 3, K),
  f('time_truncate', 'string time, string duration', 'string', 'Truncates the time to a multiple of duration.', 2, 2, K),
  f('path_canonicalize', 'string', 'string', 'Cleans a file path (like Go filepath.Clean).', 1, 1, K),
  f('truncate', 'string str, number length', 'string', 'Truncates str to at most length characters.', 2, 2, K),
  f('semver_compare', 'string version, string range', 'boolean', 'Whether version satisfies the semver range.', 2, 2, K),
  f('parse_json', 'string', 'any', 'Parses a JSON string.', 1, 1, K),
  f('parse_yaml', 'string', 'any', 'Parses a YAML string.', 1, 1, K),
  f('lookup', 'object|array collection, string|number key', 'any', 'Value at key or index (null when absent).', 2, 2, K),
  f('items', 'object|array, string keyName, string valName', 'array', 'Converts a map or array into a list of {key, value} objects.', 3, 3, K),
  f('object_from_lists', 'array keys, array values', 'object', 'Builds an object from parallel key and value lists.', 2, 2, K),
  f('random', 'string pattern', 'string', 'Random string matching the regex pattern.', 1, 1, K),
  f('x509_decode', 'string pem', 'object', 'Decodes a PEM certificate or CSR.', 1, 1, K),
  f('image_normalize', 'string image', 'string', 'Normalises an image reference (registry, tag).', 1, 1, K),
  f('is_external_url', 'string url', 'boolean', 'Whether the URL points outside the cluster.', 1, 1, K),
  f('sha256', 'string', 'string', 'Hex SHA-256 of the string.', 1, 1, K),
];

function engineDocs(): FunctionDoc[] {
  const docs = engineExport<unknown>('jmespath', 'FUNCTION_DOCS');
  if (!docs || typeof docs !== 'object') return [];
  const list = Array.isArray(docs) ? docs : Object.values(docs);
  const out: FunctionDoc[] = [];
  for (const d of list as Array<Record<string, unknown>>) {
    if (!d || typeof d.name !== 'string') continue;
    out.push({
      name: d.name,
      signature: typeof d.signature === 'string' ? d.signature : `${d.name}(...)`,
      description: typeof d.description === 'string' ? d.description : typeof d.doc === 'string' ? d.doc : '',
      minArgs: typeof d.minArgs === 'number' ? d.minArgs : -1,
      maxArgs: typeof d.maxArgs === 'number' ? d.maxArgs : -1,
      kyverno: Boolean(d.kyverno ?? true),
    });
  }
  return out;
}

let table: Map<string, FunctionDoc> | undefined;
export function functionTable(): Map<string, FunctionDoc> {
  if (table) return table;
  table = new Map();
  // Kyverno documents its own overloads of standard names (items, replace, split, trim);
  // both call forms are accepted, so the arity range is the union.
  for (const d of [...BUILTIN, ...KYVERNO, ...engineDocs()]) {
    const prev = table.get(d.name);
    if (!prev) table.set(d.name, d);
    else if (d.minArgs < 0) table.set(d.name, { ...d, minArgs: prev.minArgs, maxArgs: prev.maxArgs });
    else {
      const maxArgs = prev.maxArgs < 0 || d.maxArgs < 0 ? -1 : Math.max(prev.maxArgs, d.maxArgs);
      table.set(d.name, { ...d, minArgs: Math.min(prev.minArgs, d.minArgs), maxArgs });
    }
  }
  return table;
}
