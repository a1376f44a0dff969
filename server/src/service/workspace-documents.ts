/**
 * What a workspace file gives the evaluation of manifests (its policies, PolicyExceptions
 * and bindings) and the resource schemas (the CRDs it declares), read off a parsed file. Kept
 * apart from the evaluation and the schema tables so that the scan workers
 * (server/src/scan-worker.ts) load only the YAML document model and this.
 */
import { documentValues, type ParsedFile } from './documents';
import type { DocumentValue } from '../../../engine/loader/document';
import { classifyDocument } from '../../../engine/loader/classify';
import type { JsonObject } from '../../../engine/core/types';

/** What a workspace document is to the evaluation of manifests. */
export type WorkspaceRole = 'policy' | 'exception' | 'binding';

/** A document of the workspace that takes part in evaluation: a policy, a PolicyException or a binding. */
export interface WorkspacePolicy { uri: string; value: JsonObject; role: WorkspaceRole }

/**
 * The documents of an editor's file that the workspace's evaluation uses (policies, exceptions,
 * bindings), copied: the incremental re-parse later updates the file's values in place.
 */
export function workspacePolicies(file: ParsedFile): WorkspacePolicy[] {
  return workspacePoliciesOf(file.uri, documentValues(file), true);
}

/** `workspacePolicies` of a file's document values (a file parsed only to be read gives its own: no `snapshot`). */
export function workspacePoliciesOf(uri: string, docs: readonly DocumentValue[], snapshot: boolean): WorkspacePolicy[] {
  const out: WorkspacePolicy[] = [];
  for (const d of docs) {
    if (!d.value || d.invalid || d.conversionError) continue;
    const role = classifyDocument(d.value);
    if (role === 'policy' || role === 'exception' || role === 'binding') out.push({ uri, value: (snapshot ? structuredClone(d.value) : d.value) as JsonObject, role });
  }
  return out;
}

/** A CustomResourceDefinition document's kind and per-version schemas (the engine's one reader). */
export { crdSchemaOf as crdOf, type CrdSchema } from '../../../engine/kube/crd';
