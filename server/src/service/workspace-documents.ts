/**
 * What a workspace file gives the evaluation of manifests (its policies, PolicyExceptions
 * and bindings) and the resource schemas (the CRDs it declares), read off a parsed file. Kept
 * apart from the evaluation and the schema tables so that the scan workers
 * (server/src/scan-worker.ts) load only the YAML document model and this.
 */
import { documentValues, type ParsedFile } from './documents';
import type { DocumentValue } from '../../../engine/loader/document';
import { classifyDocument } from '../../../engine/loader/classify';
import { asArray, asObject } from '../../../engine/core/json';
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

export interface CrdSchema {
  group: string;
  kind: string;
  plural: string;
  /** Each served version and its openAPIV3Schema (absent: no schema, any field may be there). */
  versions: Array<{ name: string; schema: unknown }>;
}

/** A CustomResourceDefinition document's kind and per-version schemas. */
export function crdOf(value: unknown): CrdSchema | undefined {
  const v = asObject(value);
  if (v.apiVersion !== 'apiextensions.k8s.io/v1' || v.kind !== 'CustomResourceDefinition') return undefined;
  const spec = asObject(v.spec);
  const names = asObject(spec.names);
  if (typeof spec.group !== 'string' || typeof names.kind !== 'string' || !names.kind) return undefined;
  const versions: CrdSchema['versions'] = [];
  for (const ver of asArray(spec.versions)) {
    const o = asObject(ver);
    if (typeof o.name === 'string') versions.push({ name: o.name, schema: asObject(o.schema).openAPIV3Schema });
  }
  return { group: spec.group, kind: names.kind, plural: typeof names.plural === 'string' ? names.plural : '', versions };
}
