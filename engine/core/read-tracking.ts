/**
 * Which parts of a resource one policy evaluation read, so that its response can be reused
 * for an edited resource whose read parts are unchanged (the response memo, for an editor's
 * keystrokes). An evaluation is a function of the values it reads: when every read of the
 * edited resource would give what it gave before, the evaluation would go the same way.
 *
 * The engine is handed a recording view of the resource (a Proxy per object, one per path)
 * that notes, per path: the value read (a primitive, or whether an object or an array was
 * found, or that the key was absent) and, when the object's keys were listed (Object.keys,
 * iteration, serialisation, a spread, a pattern walking every key), the list itself. A
 * whole-object consumer (JSON.stringify, CEL's conversion of `object`, a wildcard) reads
 * through the same traps, so it records every path below: nothing needs declaring.
 * Writes are refused and noted (the engine never writes its input; a view that was written
 * to is never trusted).
 */
import { jsonEqual } from './json';

/** A value found at a path, or what kind of container was found there. */
const OBJECT = Symbol('object');
const ARRAY = Symbol('array');
/** The key was not an own property (a missing field, or a prototype method such as `map`). */
const ABSENT = Symbol('absent');
/**
 * The key was an own property, its value not read (Object.keys and `hasOwnProperty` ask for
 * a property's descriptor; the engine never reads a value from one: it reads the property).
 */
const PRESENT = Symbol('present');

type Seen = typeof OBJECT | typeof ARRAY | typeof ABSENT | typeof PRESENT | string | number | boolean | null | undefined | bigint;

/** What was read at one path, and below it. */
export class ReadNode {
  /** The keys listed (own keys, in order), when they were. */
  keys?: (string | symbol)[];
  children?: Map<string, ReadNode>;
  /** Set when the value had to be handed out as it is (a frozen property): compared whole. */
  whole?: unknown;
  constructor(public seen: Seen) {}
}

function seenOf(value: unknown): Seen {
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? ARRAY : OBJECT;
  if (typeof value === 'function' || typeof value === 'symbol') return ABSENT;
  return value as Seen;
}

const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

function sameKeys(a: readonly (string | symbol)[], b: readonly (string | symbol)[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** Whether `value` gives every read recorded in `node` the answer it gave when recorded. */
export function readsHold(node: ReadNode, value: unknown): boolean {
  if (node.whole !== undefined) return jsonEqual(node.whole, value);
  const seen = seenOf(value);
  if (seen !== node.seen) return false;
  if (seen !== OBJECT && seen !== ARRAY) return true;
  const object = value as Record<string, unknown>;
  if (node.keys && !sameKeys(node.keys, Reflect.ownKeys(object))) return false;
  if (node.children) {
    for (const [key, child] of node.children) {
      if (!hasOwn(object, key)) {
        if (child.seen !== ABSENT) return false;
      } else if (child.seen === PRESENT) {
        continue;
      } else if (!readsHold(child, object[key])) return false;
    }
  }
  return true;
}

/** Every view ever handed out, so that a response holding one can be told apart. */
const views = new WeakSet<object>();

/** Adds a view built over a recording view (a conversion done as it is read) to those looked for. */
export function registerView<T extends object>(view: T): T {
  views.add(view);
  return view;
}

export function isRecordingView(value: unknown): boolean {
  return value !== null && typeof value === 'object' && views.has(value);
}

/**
 * Records the reads of one evaluation. `view` is what the engine gets in place of the
 * resource; `root` what it read once the evaluation is over (call `stop` first: later reads
 * through a view that escaped are not recorded, so a response holding a view is never kept).
 */
export class ReadRecorder {
  readonly root = new ReadNode(OBJECT);
  readonly view: object;
  /** The engine tried to change the resource through the view. */
  wrote = false;
  private active = true;

  constructor(resource: object) {
    this.view = this.viewOf(resource, this.root);
  }

  stop(): void {
    this.active = false;
  }

  /** Records a read of `key` (of its value, or only whether it is an own property). */
  private child(node: ReadNode, target: object, key: string, valueRead = true): { node: ReadNode | null; value: unknown } {
    const own = hasOwn(target, key);
    const value = (target as Record<string, unknown>)[key];
    if (!this.active) return { node: null, value };
    const seen = !own ? ABSENT : valueRead ? seenOf(value) : PRESENT;
    let child = node.children?.get(key);
    if (!child) {
      child = new ReadNode(seen);
      (node.children ??= new Map()).set(key, child);
    } else if (child.seen === PRESENT) child.seen = seen;
    return { node: child, value };
  }

  /** What a read of `key` gives: primitives as they are, objects as views of their own. */
  private valueFor(node: ReadNode, target: object, key: string, valueRead = true): unknown {
    const { node: child, value } = this.child(node, target, key, valueRead);
    if (child === null || value === null || typeof value !== 'object' || !hasOwn(target, key)) return value;
    // A view tells what it wraps (Array.isArray), however it was reached.
    if (child.seen === PRESENT) child.seen = seenOf(value);
    const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
    // A proxy must report a frozen property as it is: then it counts as read whole.
    if (descriptor && !descriptor.configurable && !descriptor.writable) {
      child.whole = value;
      return value;
    }
    return this.viewOf(value, child);
  }

  private viewOf(target: object, node: ReadNode): object {
    const cached = nodeViews.get(node);
    if (cached) return cached;
    const recorder = this;
    const refuse = () => {
      recorder.wrote = true;
      return false;
    };
    const view = new Proxy(target, {
      get(t, key, receiver) {
        if (typeof key === 'symbol') return Reflect.get(t, key, receiver);
        return recorder.valueFor(node, t, key);
      },
      has(t, key) {
        if (typeof key === 'string') recorder.child(node, t, key, false);
        return Reflect.has(t, key);
      },
      ownKeys(t) {
        const keys = Reflect.ownKeys(t);
        if (recorder.active) node.keys = keys;
        return keys;
      },
      getOwnPropertyDescriptor(t, key) {
        const descriptor = Reflect.getOwnPropertyDescriptor(t, key);
        if (typeof key === 'symbol') return descriptor;
        // Asking whether a key is there reads that it is (or is not).
        const value = recorder.valueFor(node, t, key, false);
        if (!descriptor || !('value' in descriptor)) return descriptor;
        return descriptor.configurable ? { ...descriptor, value } : descriptor;
      },
      set: refuse,
      defineProperty: refuse,
      deleteProperty: refuse,
      setPrototypeOf: refuse,
      preventExtensions: refuse,
    });
    views.add(view);
    nodeViews.set(node, view);
    return view;
  }
}

/** One view per path (per read node): the same field read twice is the same object. */
const nodeViews = new WeakMap<ReadNode, object>();

/**
 * Whether a value built by an evaluation holds a view (looked for up to `budget` nodes; a
 * value too large to look through counts as holding one).
 */
export function holdsView(value: unknown, budget = { left: 5000 }): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (views.has(value)) return true;
  if (--budget.left < 0) return true;
  if (Array.isArray(value)) return value.some((v) => holdsView(v, budget));
  for (const key of Object.keys(value)) if (holdsView((value as Record<string, unknown>)[key], budget)) return true;
  return false;
}
