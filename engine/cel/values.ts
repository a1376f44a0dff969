/**
 * Conversion between JSON (as parsed from YAML) and the values cel-js evaluates. Kubernetes
 * decodes integral JSON numbers as int64, so integers become BigInt; cel-js would otherwise
 * treat every number as a double and `object.spec.replicas + 1` would not type.
 */

import { base64Encode } from '../jmespath/go-compat';

export type CelValue = unknown;

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
  const ctorName = celClassOf(value);
  if (ctorName === 'UnsignedInt') return Number((value as { value: bigint }).value);
  if (ctorName === 'Duration' || ctorName === 'CelQuantity') return String(value);
  if (ctorName === 'Optional') {
    const opt = value as { hasValue(): boolean; value(): unknown };
    return opt.hasValue() ? fromCel(opt.value()) : null;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = fromCel(v);
  return out;
}


/** A short human rendering of a CEL value, for messages. */
export function describeCel(value: unknown): string {
  const plain = fromCel(value);
  return typeof plain === 'string' ? plain : JSON.stringify(plain);
}

/**
 * The cel-js runtime class of a value ('UnsignedInt', 'Duration', 'Optional', 'CelQuantity'…).
 * cel-js exports only some of these classes, so they are told apart by name; the build keeps
 * class names (esbuild keepNames) for that reason.
 */
export function celClassOf(v: unknown): string | undefined {
  return v !== null && typeof v === 'object' ? (v as object).constructor?.name : undefined;
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
  const ctor = celClassOf(v);
  if (ctor === 'UnsignedInt') return 'uint';
  if (ctor === 'Duration') return 'google.protobuf.Duration';
  if (ctor === 'CelQuantity') return 'kubernetes.Quantity';
  return 'map';
}
