/**
 * Evaluation budgets shared by every engine folder. A budget that runs out is an error of the
 * rule being evaluated (never a skip, a default value or a pass): the error class is
 * recognised wherever the engine would otherwise swallow a failure (context entries with a
 * default, foreach lists Kyverno passes over when they fail to evaluate).
 *
 * | budget | limit | Kyverno / Kubernetes counterpart |
 * |---|---|---|
 * | context entry size | 2 MiB of JSON per rule context | `maxContextSize` (DefaultMaxContextSize, 2 MiB) |
 * | JMESPath values built | 1,000,000 elements per query | none in go-jmespath; the order of k8s' CEL PerCallLimit |
 * | foreach elements | 100,000 elements per rule | none: bounds nested foreach over large lists |
 * | CEL cost | 1,000,000 per expression (engine/cel/budget) | k8s celconfig.PerCallLimit |
 */

export class BudgetExceededError extends Error {
  readonly budgetExceeded = true;
  constructor(readonly budget: string, readonly limit: number, detail: string, prefix?: string) {
    super(`${prefix ? `${prefix}: ` : ''}${budget} budget exceeded: ${detail} (limit ${limit})`);
    this.detail = detail;
  }
  private readonly detail: string;

  /** The same error under a caller's wording ("failed to ...: <this message>"). */
  within(prefix: string): BudgetExceededError {
    return new BudgetExceededError(this.budget, this.limit, this.detail, prefix);
  }
}

/** Whether an error (possibly rewrapped by a caller that kept the flag) is a spent budget. */
export function isBudgetExceeded(err: unknown): err is BudgetExceededError {
  return typeof err === 'object' && err !== null && (err as { budgetExceeded?: unknown }).budgetExceeded === true;
}

/** Kyverno's DefaultMaxContextSize: the JSON size of the data context entries add. */
export const MAX_CONTEXT_SIZE = 2 * 1024 * 1024;

/** Elements a foreach may visit in one rule, nested loops included. */
export const MAX_FOREACH_ELEMENTS = 100_000;

/**
 * The size of a value's JSON encoding, stopping as soon as it passes `limit` (so measuring a
 * huge value costs at most `limit` steps). Shared substructures count once per reference,
 * as JSON would encode them. Close to Go's json.Marshal length (escapes are not counted).
 */
export function jsonSizeUpTo(value: unknown, limit: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    if (size > limit) return size;
    const v = stack.pop();
    if (v === null || v === undefined) size += 4;
    else if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'bigint') size += String(v).length;
    else if (typeof v === 'boolean') size += v ? 4 : 5;
    else if (Array.isArray(v)) {
      // Every element takes at least one byte and a comma: a long array is over without a walk.
      size += 2 + Math.max(0, v.length - 1);
      if (size + v.length > limit) return size + v.length;
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else if (typeof v === 'object') {
      const keys = Object.keys(v as object);
      size += 2 + Math.max(0, keys.length - 1);
      for (const k of keys) {
        size += k.length + 3;
        if (size > limit) return size;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return size;
}

/** Throws the context size error when `value` would take the context past MAX_CONTEXT_SIZE. */
export function chargeContextEntry(name: string, value: unknown, used: { bytes: number }): void {
  const left = MAX_CONTEXT_SIZE - used.bytes;
  const size = jsonSizeUpTo(value, left);
  if (size > left) {
    throw new BudgetExceededError('context size', MAX_CONTEXT_SIZE, `context entry ${name} takes the rule context past ${MAX_CONTEXT_SIZE} bytes of JSON`);
  }
  used.bytes += size;
}
