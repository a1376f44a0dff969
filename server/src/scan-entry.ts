/**
 * What one workspace file contributes to the workspace index (its policies, exceptions and
 * bindings, and the CRDs it declares), from its text: the one piece of code the index runs in
 * its own thread and the scan workers (`scan-workers.ts`) run beside it.
 */
import { mayHoldEvaluationDocuments } from '../../engine/loader/classify';
import { parseFile, type ParsedFile } from './service/documents';
import { workspacePolicies, crdOf, type WorkspacePolicy, type CrdSchema } from './service/workspace-documents';
import type { CachedEntry } from './workspace';

/** What a workspace file contributes. */
export interface FileEntry { policies: WorkspacePolicy[]; crdKinds: string[]; crds: CrdSchema[] }

export const EMPTY: FileEntry = { policies: [], crdKinds: [], crds: [] };

/** `owned`: the file was parsed for this entry only (its values need no copy). */
export function entryOf(file: ParsedFile | undefined, owned = false): FileEntry {
  if (!file) return EMPTY;
  const crdKinds: string[] = [];
  const crds: CrdSchema[] = [];
  for (const pd of file.docs) {
    if (pd.apiVersion === 'apiextensions.k8s.io/v1' && pd.kind === 'CustomResourceDefinition') {
      const k = (pd.value as { spec?: { names?: { kind?: string } } })?.spec?.names?.kind;
      if (typeof k === 'string' && k) crdKinds.push(k);
      const crd = crdOf(pd.value);
      if (crd) crds.push(crd);
    }
  }
  const policies = workspacePolicies(file, !owned);
  return policies.length || crdKinds.length ? { policies, crdKinds, crds } : EMPTY;
}

/** Whether a file's text can contribute (the others are not parsed). */
export function mayContribute(text: string): boolean {
  return mayHoldEvaluationDocuments(text) || text.includes('CustomResourceDefinition');
}

/** A file's entry from its text, parsing only a text that can contribute. */
export function entryOfText(uri: string, text: string): FileEntry {
  return mayContribute(text) ? entryOf(parseFile(uri, text), true) : EMPTY;
}

/** An entry as plain data (what the scan cache stores and a scan worker sends); null: nothing. */
export function toCached(entry: FileEntry): CachedEntry | null {
  return entry === EMPTY ? null : { policies: entry.policies.map((p) => ({ value: p.value, role: p.role })), crdKinds: entry.crdKinds, crds: entry.crds };
}

export function fromCached(uri: string, cached: CachedEntry | null): FileEntry {
  return cached ? { policies: cached.policies.map((p) => ({ uri, value: p.value, role: p.role })), crdKinds: cached.crdKinds, crds: cached.crds } : EMPTY;
}
