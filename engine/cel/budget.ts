/**
 * A runtime cost bound for CEL. cel-go/Kubernetes cancel an evaluation once its actual cost
 * exceeds a limit ("operation cancelled: actual cost limit exceeded"); cel-js has no such
 * meter, so the engine counts the work that can grow without bound — comprehension
 * iterations and elements produced by library functions (lists.range, repeat, join…) — and
 * stops one top-level evaluation when it passes the limit. Lazily evaluated policy variables
 * run inside the evaluation that uses them and share its budget.
 */

import { chargeMemory, checkDeadline, deadlinePassed, WORD_BYTES } from '../core/budget';

/**
 * Comprehension iterations plus generated elements allowed per top-level evaluation: the
 * Kubernetes per-expression runtime cost limit (celconfig.PerCallLimit, 1,000,000).
 */
export const DEFAULT_COST_LIMIT = 1_000_000;

/**
 * cel-go charges concatenation (`list + list`, `string + string`, `bytes + bytes`) and
 * traversal of the values built at 0.1 per element or character of the result
 * (common.StringTraversalCostFactor); the same factor here bounds one evaluation to about
 * ten million elements built by concatenation, so doubling a list in a chain of variables
 * ends with the cost error long before the process runs out of memory.
 */
export const TRAVERSAL_COST_FACTOR = 0.1;

export class CelCostError extends Error {}

let limit = DEFAULT_COST_LIMIT;
let used = 0;
let depth = 0;
/**
 * Sticky once the limit is passed: cel-js's all/exists keep iterating after an element's
 * error, so every later charge fails fast, quantifier ticks short-circuit their loop, and the
 * evaluation as a whole reports the cost error whatever value it reached.
 */
let exceeded = false;
/** The evaluation-wide budget (memory, deadline) that stopped this expression, if one did. */
let stoppedBy: Error | null = null;
/** Charges since the last look at the deadline (the clock is read every DEADLINE_STRIDE). */
let ticks = 0;
const DEADLINE_STRIDE = 1024;

function costError(): CelCostError {
  return new CelCostError(`operation cancelled: actual cost limit exceeded (CEL cost budget of ${limit} per evaluation: iterations, generated elements, sizes of values built)`);
}

/** Makes an evaluation-wide budget error this expression's sticky outcome, and throws it. */
function stop(err: unknown): never {
  exceeded = true;
  stoppedBy = err as Error;
  throw err;
}

function lookAtDeadline(): void {
  if (++ticks < DEADLINE_STRIDE) return;
  ticks = 0;
  try {
    checkDeadline();
  } catch (err) {
    stop(err);
  }
}

/** Charges `units` to the running evaluation; throws CelCostError past the limit. */
export function chargeCost(units: number | bigint): void {
  used += Number(units);
  if (used > limit) {
    exceeded = true;
    throw costError();
  }
  lookAtDeadline();
}

/** Charges one iteration; false once the budget is spent (the caller then ends its loop). */
export function tryChargeIteration(): boolean {
  if (exceeded) return false;
  if (++used > limit) exceeded = true;
  else if (++ticks >= DEADLINE_STRIDE) {
    ticks = 0;
    if (deadlinePassed()) {
      exceeded = true;
      try {
        checkDeadline();
      } catch (err) {
        stoppedBy = err as Error;
      }
    }
  }
  return !exceeded;
}

/**
 * Charges building a value of `size` list elements, or of `chars` characters (strings,
 * bytes), before it is built: to this expression's cost at cel-go's traversal factor, and
 * to the evaluation's memory budget (engine/core/budget).
 */
export function chargeBuilt(elements: number, chars = 0): void {
  chargeCost(Math.ceil((elements + chars) * TRAVERSAL_COST_FACTOR));
  try {
    chargeMemory(elements * WORD_BYTES + chars, 'a CEL value built');
  } catch (err) {
    stop(err);
  }
}

/** Whether `units` more would still fit (for refusing a huge allocation before making it). */
export function ensureCost(units: number | bigint): void {
  if (used + Number(units) > limit) chargeCost(units);
}

/** Runs one evaluation; nested calls (variables evaluated on use) share the outer budget. */
export function withCostBudget<T>(run: () => T): T {
  if (depth === 0) { used = 0; exceeded = false; stoppedBy = null; }
  depth++;
  let out: T;
  try {
    out = run();
  } catch (err) {
    if (exceeded && !(err instanceof CelCostError)) throw stoppedBy ?? costError();
    throw err;
  } finally {
    depth--;
  }
  if (exceeded) throw stoppedBy ?? costError();
  return out;
}

/** Changes the limit (tests, embedding hosts); returns the previous one. */
export function setCostLimit(units: number): number {
  const previous = limit;
  limit = Math.max(1, Math.floor(units));
  return previous;
}

/** cel-js's built-in operator declarations as seen on a checked AST node (not part of its typed API). */
interface OperatorDeclarationLike { operator: string; signature: string; handler: (...args: unknown[]) => unknown }
interface CheckedBinaryNode { candidates?: { declarations: OperatorDeclarationLike[] } }

/** Sizes of the concatenable values (list, string, bytes); undefined for anything else. */
function builtSize(v: unknown): number | undefined {
  if (Array.isArray(v) || typeof v === 'string' || v instanceof Uint8Array) return v.length;
  return undefined;
}

/**
 * cel-js concatenates lists, strings and bytes with built-in `+` overloads that cannot be
 * registered again; the environment's own declarations are replaced by copies whose handler
 * charges the size of the result first. The declarations are reached through a checked probe
 * expression (both operands dyn, so no overload is resolved and cached before the swap).
 * Must run after every registration and before any expression is parsed.
 */
export function meterConcatenation(env: { parse(expr: string): unknown }): void {
  const probe = env.parse('kyMeterLeft + kyMeterRight') as { check(): { valid: boolean }; ast: CheckedBinaryNode };
  probe.check();
  const declarations = probe.ast.candidates?.declarations;
  if (!declarations) throw new Error('cel-js internals changed: cannot meter concatenation');
  let metered = 0;
  declarations.forEach((decl, i) => {
    if (!/^(string|bytes|list<V>) \+ /.test(decl.signature)) return;
    const original = decl.handler;
    const handler = function (this: unknown, a: unknown, b: unknown, ...rest: unknown[]) {
      const size = (builtSize(a) ?? 0) + (builtSize(b) ?? 0);
      if (Array.isArray(a)) chargeBuilt(size);
      else chargeBuilt(0, size);
      return original.call(this, a, b, ...rest);
    };
    const Declaration = decl.constructor as new (init: Record<string, unknown>) => OperatorDeclarationLike;
    const { leftType, rightType, returnType } = decl as unknown as Record<string, unknown>;
    declarations[i] = new Declaration({ op: decl.operator, leftType, rightType, returnType, handler, async: false });
    metered++;
  });
  if (metered !== 3) throw new Error('cel-js internals changed: cannot meter concatenation');
}
