/**
 * Kyverno's deferred loading of context entries (pkg/engine/context/deferred.go, on by
 * default: toggle EnableDeferredLoading) as far as the context size sees it. The engine
 * computes a rule's entries as they are declared, but Kyverno adds an entry to its JSON
 * context, and counts its bytes against maxContextSize, only when a query first names it
 * (LoadMatching); an entry nothing reads never counts. So a `variable`, `configMap` or
 * `globalReference` entry waits here, computed but uncounted, until an expression names it:
 * then it is counted, and past the limit that query fails with the loader's error.
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
  state: 'pending' | 'loaded' | 'failed';
  failure?: string;
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
 * at the first). An entry that failed keeps failing every query that names it.
 */
export function loadNamedEntries(query: string, entries: readonly DeferredEntry[] | undefined): string | undefined {
  if (!entries) return undefined;
  for (const entry of entries) {
    if (entry.state === 'loaded' || !queryNamesEntry(query, entry.name)) continue;
    if (entry.state === 'failed') return entry.failure;
    try {
      chargeContextEntry(entry.value, entry.size, entry.account, entry.level);
      entry.state = 'loaded';
    } catch (e) {
      if (!isBudgetExceeded(e)) throw e;
      entry.state = 'failed';
      entry.failure = entry.wording((e as Error).message);
      return entry.failure;
    }
  }
  return undefined;
}
