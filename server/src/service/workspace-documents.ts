/**
 * What a workspace file gives the evaluation of manifests (its policies, PolicyExceptions
 * and bindings) and the resource schemas (the CRDs it declares), read off a parsed file. Kept
 * apart from the evaluation and the schema tables so that the scan workers
 * (server/src/scan-worker.ts) load only the YAML document model and this.
 */
import type { ParsedFile } from './documents';
import { classifyDocument } from '../../../engine/loader/classify';
import { asArray, asObject } from '../../../engine/core/json';
import type { JsonObject } from '../../../engine/core/types';

/** What a workspace document is to the evaluation of manifests. */
export type WorkspaceRole = 'policy' | 'exception' | 'binding';

/** A document of the workspace that takes part in evaluation: a policy, a PolicyException or a binding. */
export interface WorkspacePolicy { uri: string; value: JsonObject; role: WorkspaceRole }

/**
 * The documents of a file that the workspace's evaluation uses (policies, exceptions, bindings).
 * `snapshot`: copy the values (an editor's file: the incremental re-parse later updates its
 * values in place); a file parsed only to be read (the workspace scan) can give its own.
 */
export function workspacePolicies(file: ParsedFile, snapshot = true): WorkspacePolicy[] {
  const out: WorkspacePolicy[] = [];
  for (const pd of file.docs) {
    if (!pd.value || pd.doc.errors.length || pd.conversionError) continue;
    const role = classifyDocument(pd.value);
    if (role === 'policy' || role === 'exception' || role === 'binding') out.push({ uri: file.uri, value: (snapshot ? structuredClone(pd.value) : pd.value) as JsonObject, role });
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
