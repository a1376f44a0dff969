/**
 * Kyverno's deferred loading of context entries (pkg/engine/context/deferred.go, on by
 * default: toggle EnableDeferredLoading) as far as the context size sees it. The engine
 * computes a rule's entries as they are declared, but Kyverno adds an entry to its JSON
 * context, and counts its bytes against maxContextSize, only when a query first names it
 * (LoadMatching); an entry nothing reads never counts. So an entry of any kind (but the
 * CLI's mocked apiCalls, added at once) waits here, computed but uncounted, until an expression names it:
 * then it is counted, and past the limit that query fails with the loader's error. Only that
 * query: the loaders of a variable, a ConfigMap, an apiCall and an image keep what they computed
 * before adding it (HasLoaded is then true), and a global context entry's is passed over until
 * the JSON context's next Reset (its `matched` flag), so later queries run without it.
 * An entry computed from another counts that one when it is computed, where Kyverno would
 * count both when the first is read.
 */
import { chargeContextEntry, isBudgetExceeded, type JsonContextSize } from '../core/budget';

export interface DeferredEntry {
  readonly name: string;
  readonly value: unknown;
  /** Its JSON size, measured when it was computed (measureContextEntry). */
  readonly size: number;
  /** The JSON context the entry counts against, and the foreach depth it was declared at. */
  readonly account: JsonContextSize;
  readonly level: number;
  /** The loader's words around the size error (Kyverno's loaders wrap it by kind). */
  readonly wording: (message: string) => string;
  /** Whether the loader keeps what it computed when adding it fails (all but a global context entry's). */
  readonly keepsFailed: boolean;
  state: 'pending' | 'loaded';
  /** A global context entry that failed: the JSON context's `resets` then; passed over until it changes. */
  failedAt?: number;
}

// Entry names come from policies; one expression per name, dropped when full.
const MAX_MATCHERS = 4096;
const matchers = new Map<string, RegExp>();

/**
 * Whether a query names the entry, as Kyverno's deferred loader matches it: the name, not
 * preceded by a dot or a word character, ending at a word boundary (`x` matches `x.y`, not
 * `y.x`). Kyverno compiles the name unescaped; here it is taken literally.
 */
export function queryNamesEntry(query: string, name: string): boolean {
  let re = matchers.get(name);
  if (!re) {
    if (matchers.size >= MAX_MATCHERS) matchers.clear();
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    re = new RegExp(`(?:^|$|\\s|[^.0-9A-Za-z])${escaped}\\b`);
    matchers.set(name, re);
  }
  return re.test(query);
}

/**
 * Loads (counts) the waiting entries a query names, in the order they were declared;
 * returns the error the query fails with when one is past the context size (Kyverno stops
 * at the first).
 */
export function loadNamedEntries(query: string, entries: readonly DeferredEntry[] | undefined): string | undefined {
  if (!entries) return undefined;
  for (const entry of entries) {
    if (entry.state === 'loaded' || !queryNamesEntry(query, entry.name)) continue;
    if (entry.failedAt !== undefined && entry.failedAt === (entry.account.resets ?? 0)) continue;
    try {
      chargeContextEntry(entry.value, entry.size, entry.account, entry.level);
      entry.state = 'loaded';
    } catch (e) {
      if (!isBudgetExceeded(e)) throw e;
      if (entry.keepsFailed) entry.state = 'loaded';
      else entry.failedAt = entry.account.resets ?? 0;
      return entry.wording((e as Error).message);
    }
  }
  return undefined;
}
