/** Function reference for editor completion and hover: standard JMESPath plus Kyverno's. */
import { KYVERNO_FUNCTIONS } from './functions-kyverno';
import { functionTable } from './runtime';

export interface FunctionDoc {
  name: string;
  signature: string;
  description: string;
  kyverno: boolean;
  /** Argument count bounds from the registered signature (maxArgs -1: variadic). */
  minArgs: number;
  maxArgs: number;
}

function arity(name: string): { minArgs: number; maxArgs: number } {
  const sig = functionTable()[name]?._signature ?? [];
  const variadic = sig.length > 0 && sig[sig.length - 1].variadic === true;
  return { minArgs: sig.filter((a) => !a.optional).length, maxArgs: variadic ? -1 : sig.length };
}

const STANDARD: Array<[string, string, string]> = [
  ['abs', 'abs(number) number', 'absolute value of a number'],
  ['avg', 'avg(array[number]) number', 'average of an array of numbers (null when empty)'],
  ['ceil', 'ceil(number) number', 'smallest integer not less than the number'],
  ['contains', 'contains(array|string, any) boolean', 'whether the array holds the value, or the string contains the substring'],
  ['ends_with', 'ends_with(string, string) boolean', 'whether the first string ends with the second'],
  ['find_first', 'find_first(string, string, number?, number?) number', 'index of the first occurrence of a substring, or null'],
  ['find_last', 'find_last(string, string, number?, number?) number', 'index of the last occurrence of a substring, or null'],
  ['floor', 'floor(number) number', 'largest integer not greater than the number'],
  ['from_items', 'from_items(array[array]) object', 'builds an object from [key, value] pairs'],
  ['group_by', 'group_by(array, expression) object', 'groups array elements by the string an expression returns'],
  ['join', 'join(string, array[string]) string', 'joins strings with a separator'],
  ['keys', 'keys(object) array[string]', 'the keys of an object'],
  ['length', 'length(string|array|object) number', 'number of characters, elements or keys'],
  ['lower', 'lower(string) string', 'lower-cases a string'],
  ['map', 'map(expression, array) array', 'applies an expression to every element'],
  ['max', 'max(array[number]|array[string]) number|string', 'largest element (null when empty)'],
  ['max_by', 'max_by(array, expression) any', 'element with the largest expression value'],
  ['merge', 'merge(object...) object', 'merges objects, later keys win'],
  ['min', 'min(array[number]|array[string]) number|string', 'smallest element (null when empty)'],
  ['min_by', 'min_by(array, expression) any', 'element with the smallest expression value'],
  ['not_null', 'not_null(any...) any', 'first argument that is not null'],
  ['pad_left', 'pad_left(string, number, string?) string', 'pads a string on the left to a width'],
  ['pad_right', 'pad_right(string, number, string?) string', 'pads a string on the right to a width'],
  ['reverse', 'reverse(string|array) string|array', 'reverses a string or an array'],
  ['sort', 'sort(array[number]|array[string]) array', 'sorts numbers or strings'],
  ['sort_by', 'sort_by(array, expression) array', 'sorts elements by an expression value'],
  ['starts_with', 'starts_with(string, string) boolean', 'whether the first string starts with the second'],
  ['to_array', 'to_array(any) array', 'wraps a non-array value in an array'],
  ['to_number', 'to_number(any) number', 'converts a string to a number (null when not numeric)'],
  ['to_string', 'to_string(any) string', 'JSON-encodes a non-string value'],
  ['trim_left', 'trim_left(string, string?) string', 'removes leading characters (whitespace by default)'],
  ['trim_right', 'trim_right(string, string?) string', 'removes trailing characters (whitespace by default)'],
  ['type', 'type(any) string', 'the JSON type name of a value'],
  ['upper', 'upper(string) string', 'upper-cases a string'],
  ['values', 'values(object) array', 'the values of an object'],
  ['zip', 'zip(array...) array', 'pairs up elements of several arrays'],
];

function kyvernoSignature(name: string, args: string[][], returns: string): string {
  return `${name}(${args.map((a) => a.join('|')).join(', ')}) ${returns}`;
}

export const FUNCTION_DOCS: FunctionDoc[] = [
  ...STANDARD.map(([name, signature, description]) => ({ name, signature, description, kyverno: false, ...arity(name) })),
  ...KYVERNO_FUNCTIONS.map((f) => ({
    name: f.name,
    signature: kyvernoSignature(f.name, f.args, f.returns),
    description: f.note.trim(),
    kyverno: true,
    ...arity(f.name),
  })),
].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
