import type { JsonObject } from '../core/types';
import type { DeferredEntry } from '../context/deferred';
import { isJsonObject } from '../core/json';

/**
 * What `{{ }}` expressions see: one JSON document ({ request, images, element, elementIndex,
 * context entries by name, ... }) that JMESPath queries run against.
 */
export interface VariableScope {
  data: JsonObject;
  /** Clock for time_* functions. */
  now?: Date;
  /**
   * Context entries whose call failed (a service, an API-server POST), with Kyverno's loader
   * error: a variable naming one fails with it, as Kyverno's deferred loading reports it.
   */
  failedEntries?: Record<string, string>;
  /** Entries computed but not yet in Kyverno's JSON context: counted when a query names them (context/deferred). */
  deferredEntries?: readonly DeferredEntry[];
}

/** A variable could not be resolved (message in Kyverno's wording). */
export class VariableError extends Error {}

/** RFC 7386 merge patch, as Kyverno merges JSON into its context. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const out: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * The fields of a dotted variable name as Kyverno's AddVariable reads them: a CSV record with
 * `.` as separator, so a double-quoted field may hold dots
 * (`request.object.metadata.annotations."example.com/team"`). A name CSV cannot read splits
 * plainly.
 */
export function variablePath(key: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= key.length) {
    if (key[i] === '"') {
      let field = '';
      let j = i + 1;
      for (;;) {
        if (j >= key.length) return key.split('.');
        if (key[j] === '"') {
          if (key[j + 1] === '"') {
            field += '"';
            j += 2;
            continue;
          }
          break;
        }
        field += key[j++];
      }
      // After the closing quote only a separator or the end may follow.
      if (j + 1 < key.length && key[j + 1] !== '.') return key.split('.');
      fields.push(field);
      i = j + 2;
      continue;
    }
    const dot = key.indexOf('.', i);
    const field = key.slice(i, dot < 0 ? key.length : dot);
    if (field.includes('"')) return key.split('.');
    fields.push(field);
    if (dot < 0) break;
    i = dot + 1;
  }
  return fields;
}

/**
 * A child scope with extra names. A plain name replaces the top-level entry (as Kyverno's
 * ReplaceContextEntry); a dotted name (`request.object.metadata.name`, as test values
 * write them) is merged at that depth (as Kyverno's AddVariable).
 */
export function withVariables(scope: VariableScope, vars: Record<string, unknown>): VariableScope {
  let data: JsonObject = { ...scope.data };
  for (const [key, value] of Object.entries(vars)) {
    if (!key.includes('.')) {
      data[key] = value;
      continue;
    }
    const nested = variablePath(key)
      .reverse()
      .reduce<unknown>((acc, part) => ({ [part]: acc }), value);
    data = mergePatch(data, nested) as JsonObject;
  }
  return { ...scope, data };
}
