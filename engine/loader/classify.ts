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

/** Flattens `kind: List` / `*List` documents into their items, as kubectl does. */
export function expandLists(doc: unknown): unknown[] {
  if (isObject(doc) && typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items)) {
    return doc.items;
  }
  return [doc];
}
