/**
 * What one workspace file contributes to the workspace index (its policies, exceptions and
 * bindings, and the CRDs it declares), from its text: the one piece of code the index runs in
 * its own thread and the scan workers (`scan-workers.ts`) run beside it.
 */
import { asObject, isJsonObject } from '../../engine/core/json';
import { mayHoldEvaluationDocuments } from '../../engine/loader/classify';
import { parseYamlValues, type DocumentValue } from '../../engine/loader/document';
import { DEFAULT_LIMITS, documentValues, type ParsedFile } from './service/documents';
import { workspacePoliciesOf, crdOf, type WorkspacePolicy, type CrdSchema } from './service/workspace-documents';
import type { CachedEntry } from './workspace';

/** What a workspace file contributes. */
export interface FileEntry { policies: WorkspacePolicy[]; crdKinds: string[]; crds: CrdSchema[] }

export const EMPTY: FileEntry = { policies: [], crdKinds: [], crds: [] };

/** An editor's parsed file's entry (its values are copied: the file's later edits change them in place). */
export function entryOf(file: ParsedFile | undefined): FileEntry {
  return file ? entryOfValues(file.uri, documentValues(file), false) : EMPTY;
}

/** `owned`: the values were parsed for this entry only (they need no copy). */
function entryOfValues(uri: string, docs: readonly DocumentValue[], owned: boolean): FileEntry {
  const crdKinds: string[] = [];
  const crds: CrdSchema[] = [];
  for (const { value } of docs) {
    if (isJsonObject(value) && value.apiVersion === 'apiextensions.k8s.io/v1' && value.kind === 'CustomResourceDefinition') {
      const k = asObject(asObject(value.spec).names).kind;
      if (typeof k === 'string' && k) crdKinds.push(k);
      const crd = crdOf(value);
      if (crd) crds.push(crd);
    }
  }
  const policies = workspacePoliciesOf(uri, docs, !owned);
  return policies.length || crdKinds.length ? { policies, crdKinds, crds } : EMPTY;
}

/** Whether a file's text can contribute (the others are not parsed). */
export function mayContribute(text: string): boolean {
  return mayHoldEvaluationDocuments(text) || text.includes('CustomResourceDefinition');
}

/**
 * A file's entry from its text, parsing only a text that can contribute: for its values only
 * (the scan needs no positions), under the editor's limits and with duplicate keys as errors,
 * as parseFile reads an open file.
 */
export function entryOfText(uri: string, text: string): FileEntry {
  return mayContribute(text) ? entryOfValues(uri, parseYamlValues(text, { limits: DEFAULT_LIMITS, uniqueKeys: true }).docs, true) : EMPTY;
}

/** An entry as plain data (what the scan cache stores and a scan worker sends); null: nothing. */
export function toCached(entry: FileEntry): CachedEntry | null {
  return entry === EMPTY ? null : { policies: entry.policies.map((p) => ({ value: p.value, role: p.role })), crdKinds: entry.crdKinds, crds: entry.crds };
}

export function fromCached(uri: string, cached: CachedEntry | null): FileEntry {
  return cached ? { policies: cached.policies.map((p) => ({ uri, value: p.value, role: p.role })), crdKinds: cached.crdKinds, crds: cached.crds } : EMPTY;
}
