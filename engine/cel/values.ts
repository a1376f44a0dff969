/**
 * Conversion between JSON (as parsed from YAML) and the values cel-js evaluates. Kubernetes
 * decodes integral JSON numbers as int64, so integers become BigInt; cel-js would otherwise
 * treat every number as a double and `object.spec.replicas + 1` would not type.
 */

import { Optional } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { base64Encode } from '../jmespath/go-compat';
import { CelQuantity } from './lib-quantity';
import { isRecordingView, registerView } from '../core/read-tracking';

export type CelValue = unknown;

const lazyViews = new WeakMap<object, object>();

/**
 * toCel of a recording view (engine/core/read-tracking), done field by field as the
 * expression reads them: a view of the same shape whose integers are BigInts. Array
 * lengths and prototype members are not values and pass as they are.
 */
function lazyCel(value: unknown): CelValue {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object') return value;
  let view = lazyViews.get(value);
  if (view) return view;
  const isArray = Array.isArray(value);
  const converts = (target: object, key: string | symbol) =>
    typeof key === 'string' && !(isArray && key === 'length') && Object.prototype.hasOwnProperty.call(target, key);
  view = registerView(new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      return converts(target, key) ? lazyCel(v) : v;
    },
    getOwnPropertyDescriptor(target, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
      if (!descriptor || !descriptor.configurable || !('value' in descriptor) || !converts(target, key)) return descriptor;
      return { ...descriptor, value: lazyCel(descriptor.value) };
    },
  }));
  lazyViews.set(value, view);
  return view;
}

export function toCel(value: unknown): CelValue {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === 'object') {
    if (value instanceof Date || value instanceof Uint8Array || value instanceof Map) return value;
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toCel(v);
    return out;
  }
  return value;
}

/**
 * toCel of a document, converted once however many policies read it: one resource is handed
 * to every policy of a run. Keyed by identity, which is sound because documents are never
 * changed in place (ARCHITECTURE.md: parsed documents are immutable) and evaluating CEL
 * never changes a value.
 */
const convertedDocuments = new WeakMap<object, CelValue>();

export function toCelDocument(value: unknown): CelValue {
  if (!value || typeof value !== 'object') return toCel(value);
  // A resource whose reads are being recorded is converted as CEL reads it, so that only
  // what an expression looks at counts as read.
  if (isRecordingView(value)) return lazyCel(value);
  let converted = convertedDocuments.get(value);
  if (converted === undefined) {
    converted = toCel(value);
    convertedDocuments.set(value, converted);
  }
  return converted;
}

/** Back to plain JSON: BigInt to number, bytes to base64, timestamps to RFC 3339. */
export function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || value === undefined) return value ?? null;
  if (typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z');
  if (value instanceof Uint8Array) return base64Encode(value);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = fromCel(v);
    return out;
  }
  if (isCelUint(value)) return Number(value.value);
  if (isCelDuration(value) || isCelQuantity(value)) return String(value);
  if (isCelOptional(value)) return value.hasValue() ? fromCel(value.value()) : null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = fromCel(v);
  return out;
}


/** A short human rendering of a CEL value, for messages. */
export function describeCel(value: unknown): string {
  const plain = fromCel(value);
  return typeof plain === 'string' ? plain : JSON.stringify(plain);
}

// CEL runtime classes are told apart by identity, never by constructor name: bundling
// renames classes (esbuild emits `class _Duration`, minify emits one letter).

/** A CEL `uint` (cel-js boxes them so they stay distinct from int). */
export function isCelUint(v: unknown): v is UnsignedInt {
  return v instanceof UnsignedInt;
}

/** A CEL `google.protobuf.Duration`. */
export function isCelDuration(v: unknown): v is Duration {
  return v instanceof Duration;
}

/** A CEL `optional_type` value (optional.of(x), optional.none(), x.?field). */
export function isCelOptional(v: unknown): v is Optional<unknown> {
  return v instanceof Optional;
}

/** A Kubernetes CEL `kubernetes.Quantity` (engine/cel/lib-quantity). */
export function isCelQuantity(v: unknown): v is CelQuantity {
  return v instanceof CelQuantity;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof Uint8Array);
}

/** The CEL type name of a runtime value, for messages. */
export function typeOfCel(v: unknown): string {
  if (v === null || v === undefined) return 'null_type';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Date) return 'google.protobuf.Timestamp';
  if (isCelUint(v)) return 'uint';
  if (isCelDuration(v)) return 'google.protobuf.Duration';
  if (isCelQuantity(v)) return 'kubernetes.Quantity';
  return 'map';
}
