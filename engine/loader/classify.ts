/** Sorting parsed documents into what a `kyverno test`/`apply` run needs. */

export type DocumentClass =
  | 'policy'
  | 'binding'
  | 'exception'
  | 'test'
  | 'values'
  | 'userinfo'
  | 'context'
  | 'resource'
  | 'invalid';

/** Kinds evaluated by the engine's applyPolicy. */
export const POLICY_KINDS: ReadonlyMap<string, readonly string[]> = new Map([
  ['kyverno.io', ['ClusterPolicy', 'Policy']],
  [
    'policies.kyverno.io',
    [
      'ValidatingPolicy',
      'NamespacedValidatingPolicy',
      'MutatingPolicy',
      'NamespacedMutatingPolicy',
      'GeneratingPolicy',
      'NamespacedGeneratingPolicy',
      'DeletingPolicy',
      'NamespacedDeletingPolicy',
      'ImageValidatingPolicy',
      'NamespacedImageValidatingPolicy',
    ],
  ],
  ['admissionregistration.k8s.io', ['ValidatingAdmissionPolicy', 'MutatingAdmissionPolicy']],
]);

/** A CEL MutatingPolicy's kind, cluster-wide or namespaced (a policy response's `policy.kind`). */
export function isCelMutatingPolicyKind(kind: string): boolean {
  return kind === 'MutatingPolicy' || kind === 'NamespacedMutatingPolicy';
}

const BINDING_KINDS = new Set(['ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicyBinding']);

export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

import { isJsonObject as isObject } from '../core/json';
export { isObject };

export function classifyDocument(doc: unknown): DocumentClass {
  if (!isObject(doc)) return 'invalid';
  const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
  const kind = typeof doc.kind === 'string' ? doc.kind : '';
  if (!apiVersion || !kind) return 'invalid';
  const group = apiGroup(apiVersion);
  if (POLICY_KINDS.get(group)?.includes(kind)) return 'policy';
  if (group === 'admissionregistration.k8s.io' && BINDING_KINDS.has(kind)) return 'binding';
  if (kind === 'PolicyException' && (group === 'kyverno.io' || group === 'policies.kyverno.io')) return 'exception';
  if (group === 'cli.kyverno.io') {
    if (kind === 'Test') return 'test';
    if (kind === 'Values') return 'values';
    if (kind === 'UserInfo') return 'userinfo';
    if (kind === 'Context') return 'context';
  }
  return 'resource';
}

/** Groups whose documents are Kyverno's own inputs or outputs (tests, reports...), never manifests. */
export const KYVERNO_OWN_GROUPS: ReadonlySet<string> = new Set(['kyverno.io', 'policies.kyverno.io', 'cli.kyverno.io', 'wgpolicyk8s.io', 'reports.kyverno.io']);

/**
 * Whether a document is Kyverno's rather than a Kubernetes manifest: a policy, binding,
 * exception or CLI input, or any kind of Kyverno's own groups (cleanup policies, reports...).
 */
export function isKyvernoDocument(doc: unknown): boolean {
  const role = classifyDocument(doc);
  if (role === 'invalid') return false;
  return role !== 'resource' || KYVERNO_OWN_GROUPS.has(apiGroup(String((doc as { apiVersion: string }).apiVersion)));
}

/** The API groups of the documents classified as policy, binding or exception. */
const EVALUATION_GROUPS = [...new Set([...POLICY_KINDS.keys(), 'admissionregistration.k8s.io', 'kyverno.io', 'policies.kyverno.io'])];

/**
 * A group at the start of a YAML scalar (no group-name character before it) followed by '/'.
 * Only a backslash escape in a double-quoted scalar can spell text that is not in the
 * source; YAML's other transformations (folding, aliases, merge keys) only reuse or space it.
 */
const EVALUATION_GROUP_TEXT = new RegExp(`(?<![\\w.-])(?:${EVALUATION_GROUPS.map((g) => g.replace(/\./g, '\\.')).join('|')})/|\\\\`);

/**
 * Whether a YAML text may hold a document classified as policy, binding or exception: a
 * cheap test on the text, so a workspace scan parses only the files that can. Never false
 * for a text that holds one (such a document needs one of those groups in its apiVersion).
 */
export function mayHoldEvaluationDocuments(text: string): boolean {
  return EVALUATION_GROUP_TEXT.test(text);
}

/** Flattens `kind: List` / `*List` documents into their items, as kubectl does. */
export function expandLists(doc: unknown): unknown[] {
  if (isObject(doc) && typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items)) {
    return doc.items;
  }
  return [doc];
}
