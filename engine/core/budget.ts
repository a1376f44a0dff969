/**
 * Evaluation budgets shared by every engine folder. A budget that runs out is an error of the
 * rule being evaluated (never a skip, a default value or a pass): the error class is
 * recognised wherever the engine would otherwise swallow a failure (context entries with a
 * default, foreach lists Kyverno passes over when they fail to evaluate).
 *
 * | budget | limit | Kyverno / Kubernetes counterpart |
 * |---|---|---|
 * | context entry size | the configuration's `maxContextSize` (default 2 MiB) of JSON per JSON context (see JsonContextSize) | `maxContextSize` (DefaultMaxContextSize, 2 MiB), Kyverno's error |
 * | text parsed in one step | 2 MiB (the context size) per parse_yaml / yaml.parse input | none: a single YAML parse no deadline check reaches |
 * | JMESPath values built | 1,000,000 elements per query | none in go-jmespath; the order of k8s' CEL PerCallLimit |
 * | foreach elements | 100,000 elements per rule | none: bounds nested foreach over large lists |
 * | CEL cost | 1,000,000 per expression (engine/cel/budget) | k8s celconfig.PerCallLimit |
 * | memory built | 256 MiB of values per policy evaluation | none per evaluation: Kyverno's chart caps the admission controller's container at 384Mi |
 * | deadline | set by the host (the webhook: 80% of timeoutSeconds) | the API server's webhook timeoutSeconds |
 */

import { DEFAULT_MAX_CONTEXT_SIZE, engineConfiguration } from './configuration';

export class BudgetExceededError extends Error {
  readonly budgetExceeded = true;
  /** The message without a caller's prefix. */
  private readonly text: string;
  /** `wording`: the whole message, where the budget is a limit Kyverno has and words itself. */
  constructor(readonly budget: string, readonly limit: number | string, detail: string, prefix?: string, wording?: string) {
    super(`${prefix ? `${prefix}: ` : ''}${wording ?? `${budget} budget exceeded: ${detail} (limit ${limit})`}`);
    this.text = wording ?? `${budget} budget exceeded: ${detail} (limit ${limit})`;
  }

  /** The same error under a caller's wording ("failed to ...: <this message>"). */
  within(prefix: string): BudgetExceededError {
    return new BudgetExceededError(this.budget, this.limit, '', prefix, this.text);
  }
}

/** Whether an error (possibly rewrapped by a caller that kept the flag) is a spent budget. */
export function isBudgetExceeded(err: unknown): err is BudgetExceededError {
  return typeof err === 'object' && err !== null && (err as { budgetExceeded?: unknown }).budgetExceeded === true;
}

/**
 * The bound on a text parsed in one step (chargeTextToParse): ours, fixed at Kyverno's default
 * context size whatever the configuration's `maxContextSize` says, since what it guards is the
 * review's deadline (a parse has no charge point inside), not the context.
 */
export const MAX_PARSED_TEXT = DEFAULT_MAX_CONTEXT_SIZE;

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

/**
 * How far an entry past the context size is measured for the message (Kyverno reports the
 * size it would reach): a value shared many times over measures as its JSON would be, so the
 * walk stops somewhere; past this the size reported is where it stopped.
 */
const CONTEXT_SIZE_REPORT_BOUND = 64 * 1024 * 1024;

/**
 * The bytes of context entries one of Kyverno's JSON contexts has taken in (pkg/engine/context
 * context.go: `contextSize`, raised by AddContextEntry / ReplaceContextEntry by the length of
 * each entry's marshalled JSON). Checkpoint, Restore and Reset leave it alone, so it is never
 * given back: it sums the entries of every rule and foreach level (each element's entries
 * again) for as long as the JSON context lives: one policy and phase in the CLI
 * (processor.makePolicyContext), the policies of one admission review
 * handler in the webhook (resource/validation and mutation handlers share the request's policy
 * context via WithPolicy; Audit-only policies have the audit handler's; a background scan one per policy).
 */
export interface JsonContextSize {
  bytes: number;
  /**
   * The rule's entries loaded so far with the checkpoint depth each was loaded at (0: the
   * rule's own, n: the n-th foreach level's element): Kyverno reloads them, and so counts
   * them again, when a foreach resets or restores its checkpoint (deferredLoaders.Reset).
   */
  loaded?: Array<{ level: number; size: number }>;
  /** Foreach checkpoints open in the rule. */
  level?: number;
  /** Resets so far (each clears Kyverno's loaders' `matched` flags: a failed global context entry is tried again). */
  resets?: number;
}

/** The JSON context being evaluated in (null outside a policy evaluation). */
let jsonContext: JsonContextSize | null = null;

/**
 * Makes `size` the JSON context that context entries count against until leaveJsonContext
 * gets the returned (outer) one back; nested evaluations keep their own.
 */
export function enterJsonContext(size: JsonContextSize | null): JsonContextSize | null {
  const outer = jsonContext;
  jsonContext = size;
  return outer;
}

export function leaveJsonContext(outer: JsonContextSize | null): void {
  jsonContext = outer;
}

/** A rule starts: the previous rule's loaders went at its Restore (invokeRuleHandler). */
function startRuleContext(): void {
  if (jsonContext && (jsonContext.loaded || jsonContext.level)) {
    jsonContext.loaded = undefined;
    jsonContext.level = 0;
  }
}

/** A foreach list's elements are about to be visited (validateElements / mutateElements: Checkpoint). */
export function foreachCheckpoint(): void {
  if (jsonContext) jsonContext.level = (jsonContext.level ?? 0) + 1;
}

/** The next element of the list (Reset): the entries of the levels around it load again. */
export function foreachElementReset(): void {
  if (jsonContext) resetLoaders(jsonContext, jsonContext.level ?? 0, false);
}

/** The list is done (Restore, also on an early return): the levels around it load again. */
export function foreachRestore(): void {
  if (!jsonContext) return;
  const level = Math.max(0, (jsonContext.level ?? 0) - 1);
  jsonContext.level = level;
  resetLoaders(jsonContext, level, true);
}

/**
 * Kyverno's deferredLoaders.Reset(restore, level) over loaders that have loaded (here every
 * entry that loaded, the engine loading eagerly): deeper levels' are dropped; a shallower
 * level's load again (into the restored context), and on restore the level's own too, which
 * are then dropped. A reload adds its size to the context again; one past the limit is only
 * logged by Kyverno ("failed to reload context entry"), so nothing is added and nothing fails.
 */
function resetLoaders(context: JsonContextSize, level: number, restore: boolean): void {
  context.resets = (context.resets ?? 0) + 1;
  const loaded = context.loaded;
  if (!loaded || loaded.length === 0) return;
  const limit = engineConfiguration().maxContextSize;
  const kept: Array<{ level: number; size: number }> = [];
  for (const l of loaded) {
    if (l.level > level) continue;
    if (restore || l.level < level) {
      if (limit <= 0 || context.bytes + l.size <= limit) context.bytes += l.size;
    }
    if (l.level < level) kept.push(l);
  }
  context.loaded = kept;
}

/** The JSON context entries count against: the evaluation's, else (a cleanup policy's conditions) `standalone`. */
export function jsonContextOr(standalone: JsonContextSize): JsonContextSize {
  return jsonContext ?? standalone;
}

/** The foreach depth an entry loaded now is declared at (0: the rule's own). */
export function jsonContextLevel(): number {
  return jsonContext?.level ?? 0;
}

/**
 * An entry's JSON size, measured once for both budgets it counts against (the evaluation's
 * memory, chargeMemory, and the JSON context, chargeContextEntry): exact up to the larger of
 * what the two have left, so a size past it is past both.
 */
export function measureContextEntry(value: unknown, context: JsonContextSize): number {
  const limit = engineConfiguration().maxContextSize;
  const memoryLeft = MAX_EVALUATION_BYTES - evaluationBytes;
  return jsonSizeUpTo(value, limit > 0 ? Math.max(memoryLeft, limit - context.bytes) : memoryLeft);
}

/**
 * Adds an entry's JSON size (`size`, from measureContextEntry) to `context`, Kyverno's
 * AddContextEntry / ReplaceContextEntry: throws Kyverno's ContextSizeLimitExceededError
 * (checkContextSizeLimit) when it would take the context past the configured `maxContextSize`
 * (engineConfiguration(); 0 or less: no limit). With `level`, the entry is remembered at that
 * foreach depth for the resets that load it again (a deferred loader's); without, it is added
 * once (the CLI's mocked apiCalls, added before the loaders). What the value holds is
 * charged to the memory budget where it is built.
 */
export function chargeContextEntry(value: unknown, size: number, context: JsonContextSize, level?: number): void {
  const limit = engineConfiguration().maxContextSize;
  if (limit <= 0) return;
  const left = limit - context.bytes;
  if (size > left) {
    // Measured no further than the budgets left: measured again, further, for the message.
    const reached = context.bytes + jsonSizeUpTo(value, Math.max(left, CONTEXT_SIZE_REPORT_BOUND));
    throw new BudgetExceededError('context size', limit, 'context entry', undefined, `context size limit exceeded: ${reached} bytes exceeds limit of ${limit} bytes`);
  }
  context.bytes += size;
  if (level !== undefined) (context.loaded ??= []).push({ level, size });
}

/**
 * A text about to be parsed in one step (YAML in JMESPath's parse_yaml and CEL's yaml.parse):
 * no charge point runs inside the parser, and YAML takes seconds per megabyte, so a text past
 * the context size budget is refused before parsing; a smaller one is charged to the
 * evaluation's memory for what the parse builds. Kyverno parses any size; this only bounds a
 * step that could otherwise outlast the review's deadline (the watchdog's job).
 */
export function chargeTextToParse(text: string, what: string): void {
  if (text.length > MAX_PARSED_TEXT) {
    throw new BudgetExceededError('context size', MAX_PARSED_TEXT, `${what} of a text of ${text.length} characters, larger than a text parsed in one step may be`);
  }
  chargeMemory(text.length, what);
}

/**
 * Bytes of values one policy evaluation (one policy against one resource) may build, summed
 * over CEL, JMESPath, context entries, foreach element scopes and mutation patches. V8 cannot
 * measure the heap one call uses, so the engine counts what it builds: a string costs its
 * length, a list element or map entry a word (8 bytes) — garbage included, so the sum bounds
 * both the memory held and the work done. Kyverno has no per-evaluation ceiling (Go shares
 * one heap); its Helm chart caps the admission controller's container at 384Mi, and this
 * keeps one evaluation well inside that.
 */
export const MAX_EVALUATION_BYTES = 256 * 1024 * 1024;

/** Bytes charged for one list element or map entry built (one reference). */
export const WORD_BYTES = 8;

let evaluationBytes = 0;
let evaluationDepth = 0;
let evaluationPolicy = '';
let evaluationRule = '';
let deadline = Infinity;
let charges = 0;

/**
 * Runs one policy evaluation with a fresh memory budget; nested calls (a policy evaluated
 * from inside another evaluation) share the outer one. `a`, `b` and `c` are passed to `run`,
 * so a caller needs no closure per evaluation (one per policy per review otherwise).
 */
export function withEvaluationBudget<T, A = undefined, B = undefined, C = undefined>(policy: string, run: (a: A, b: B, c: C) => T, a?: A, b?: B, c?: C): T {
  if (evaluationDepth === 0) {
    evaluationBytes = 0;
    evaluationPolicy = policy;
    evaluationRule = '';
  }
  evaluationDepth++;
  try {
    return run(a as A, b as B, c as C);
  } finally {
    evaluationDepth--;
  }
}

/** Names the rule being evaluated, for the budget's message. */
export function enterRule(name: string): void {
  evaluationRule = name;
  startRuleContext();
}

function where(): string {
  return `policy ${evaluationPolicy || '(none)'}${evaluationRule ? `, rule ${evaluationRule}` : ''}`;
}

/**
 * Charges `bytes` of values built to the running evaluation; throws past the ceiling or the
 * deadline. Outside a policy evaluation (a bare query from the editor or a test) nothing is
 * summed: there is no evaluation to bound, and the query's own budget still holds.
 */
export function chargeMemory(bytes: number, what: string): void {
  if (evaluationDepth === 0) return;
  evaluationBytes += bytes;
  if (evaluationBytes > MAX_EVALUATION_BYTES) {
    throw new BudgetExceededError('memory', MAX_EVALUATION_BYTES, `${where()}: ${what} takes the values built by one evaluation past ${MAX_EVALUATION_BYTES} bytes`);
  }
  if ((++charges & 63) === 0) checkDeadline();
}

/**
 * Runs `run` with a wall-clock deadline (epoch milliseconds) that the budgets' charge points
 * check: past it every charge throws, so an evaluation that keeps building or looping ends
 * within a few hundred charges of the deadline instead of holding its process.
 */
export function withDeadline<T>(at: number, run: () => T): T {
  const previous = deadline;
  deadline = at;
  try {
    return run();
  } finally {
    deadline = previous;
  }
}

/** Whether the host's deadline has passed (false when there is none). */
export function deadlinePassed(): boolean {
  return deadline !== Infinity && Date.now() > deadline;
}

/** Throws the deadline error of the running evaluation once the deadline has passed. */
export function checkDeadline(): void {
  if (deadlinePassed()) throw new BudgetExceededError('deadline', new Date(deadline).toISOString(), `${where()}: the evaluation ran past the review's deadline`);
}

/** The scope one foreach element gets (a copy of the variables with element and index). */
const ELEMENT_SCOPE_BYTES = 8 * WORD_BYTES;

/** Charges one foreach element's scope and looks at the deadline (an element can take long). */
export function chargeForeachElement(): void {
  chargeMemory(ELEMENT_SCOPE_BYTES, 'a foreach element');
  checkDeadline();
}

/** Charges a built value by its JSON size (measured no further than the budget left); a context entry's: measureContextEntry. */
export function chargeValue(value: unknown, what: string): void {
  chargeMemory(jsonSizeUpTo(value, MAX_EVALUATION_BYTES - evaluationBytes), what);
}

/** Bytes charged so far by the running evaluation (tests, diagnostics). */
export function evaluationBytesUsed(): number {
  return evaluationBytes;
}
