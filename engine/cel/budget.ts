/**
 * A runtime cost bound for CEL. cel-go/Kubernetes cancel an evaluation once its actual cost
 * exceeds a limit ("operation cancelled: actual cost limit exceeded"); cel-js has no such
 * meter, so the engine counts the work that can grow without bound — comprehension
 * iterations and elements produced by library functions (lists.range, repeat, join…) — and
 * stops one top-level evaluation when it passes the limit. Lazily evaluated policy variables
 * run inside the evaluation that uses them and share its budget.
 */

/** Comprehension iterations plus generated elements allowed per top-level evaluation. */
export const DEFAULT_COST_LIMIT = 1_000_000;

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

function costError(): CelCostError {
  return new CelCostError(`operation cancelled: actual cost limit exceeded (more than ${limit} iterations or generated elements)`);
}

/** Charges `units` to the running evaluation; throws CelCostError past the limit. */
export function chargeCost(units: number | bigint): void {
  used += Number(units);
  if (used > limit) {
    exceeded = true;
    throw costError();
  }
}

/** Charges one iteration; false once the budget is spent (the caller then ends its loop). */
export function tryChargeIteration(): boolean {
  if (exceeded) return false;
  if (++used > limit) exceeded = true;
  return !exceeded;
}

/** Whether `units` more would still fit (for refusing a huge allocation before making it). */
export function ensureCost(units: number | bigint): void {
  if (used + Number(units) > limit) chargeCost(units);
}

/** Runs one evaluation; nested calls (variables evaluated on use) share the outer budget. */
export function withCostBudget<T>(run: () => T): T {
  if (depth === 0) { used = 0; exceeded = false; }
  depth++;
  let out: T;
  try {
    out = run();
  } catch (err) {
    if (exceeded && !(err instanceof CelCostError)) throw costError();
    throw err;
  } finally {
    depth--;
  }
  if (exceeded) throw costError();
  return out;
}

/** Changes the limit (tests, embedding hosts); returns the previous one. */
export function setCostLimit(units: number): number {
  const previous = limit;
  limit = Math.max(1, Math.floor(units));
  return previous;
}
