/**
 * One match/exclude filter (a ResourceDescription plus UserInfo) against one resource, as
 * Kyverno's doesResourceMatchConditionBlock (pkg/engine/utils/match.go): every attribute
 * that is set must hold (AND across attributes, OR inside a list); the returned list holds
 * one reason per attribute that does not hold, empty when the filter selects the resource.
 */
import type { GroupVersionKind, JsonObject, RequestInfo, UserInfo } from '../core/types';
import { kindSelectorsMatch } from '../kube/selectors';
import { wildcardMatch } from '../wildcard/wildcard';
import { checkSelector, type Labels } from './label-selector';

export interface MatchTarget {
  resource: JsonObject;
  gvk: GroupVersionKind;
  subresource: string;
  operation: string;
  namespaceLabels: Labels;
  requestInfo: RequestInfo;
}

export function asObject(v: unknown): JsonObject {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : {};
}

export function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A Go struct is "empty" (DeepEqual to its zero value) when no field is set; null counts as unset. */
export function isEmptyStruct(v: unknown): boolean {
  return Object.values(asObject(v)).every((x) => x === null || x === undefined);
}

function metadata(resource: JsonObject): JsonObject {
  return asObject(resource.metadata);
}

function stringMap(v: unknown): Labels {
  const out: Labels = {};
  for (const [k, val] of Object.entries(asObject(v))) out[k] = val == null ? '' : String(val);
  return out;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function resourceKind(resource: JsonObject): string {
  return str(resource.kind);
}

function resourceNamespace(resource: JsonObject): string {
  return str(metadata(resource).namespace);
}

function checkNamespaces(patterns: string[], resource: JsonObject): boolean {
  // A Namespace is matched on its own name.
  const ns = resourceKind(resource) === 'Namespace' ? str(metadata(resource).name) : resourceNamespace(resource);
  return patterns.some((p) => wildcardMatch(p, ns));
}

function checkAnnotations(expected: Labels, actual: Labels): boolean {
  return Object.entries(expected).every(([k, v]) =>
    Object.entries(actual).some(([ak, av]) => wildcardMatch(k, ak) && wildcardMatch(v, av)),
  );
}

/** Kyverno's CheckSubjects: one subject that names the requester is enough. */
export function checkSubjects(subjects: unknown[], user: UserInfo): boolean {
  const username = user.username ?? '';
  for (const raw of subjects) {
    const s = asObject(raw);
    const name = str(s.name);
    switch (s.kind) {
      case 'ServiceAccount':
        if (wildcardMatch(`system:serviceaccount:${str(s.namespace)}:${name}`, username)) return true;
        break;
      case 'Group':
        if ((user.groups ?? []).some((g) => wildcardMatch(name, g))) return true;
        break;
      case 'User':
        if (wildcardMatch(name, username)) return true;
        break;
    }
  }
  return false;
}

/**
 * The reasons a filter does not select the target (empty: it does).
 * `description` is the `resources` block, `userInfo` the filter holding subjects/roles/clusterRoles.
 */
export function conditionBlockFailures(description: JsonObject, userInfo: JsonObject, t: MatchTarget): string[] {
  const operations = asStrings(description.operations);
  if (operations.length > 0 && !operations.includes(t.operation)) return ['operation does not match'];

  const errs: string[] = [];
  const kinds = asStrings(description.kinds);
  if (kinds.length > 0 && !kindSelectorsMatch(kinds, t.gvk, t.subresource, true)) {
    errs.push(`kind does not match [${kinds.join(' ')}]`);
  }

  const meta = metadata(t.resource);
  const resourceName = str(meta.name) || str(meta.generateName);
  const name = str(description.name);
  if (name !== '' && !wildcardMatch(name, resourceName)) errs.push('name does not match');
  const names = asStrings(description.names);
  if (names.length > 0 && !names.some((n) => wildcardMatch(n, resourceName))) errs.push('none of the names match');

  const namespaces = asStrings(description.namespaces);
  if (namespaces.length > 0 && !checkNamespaces(namespaces, t.resource)) errs.push('namespace does not match');

  const annotations = stringMap(description.annotations);
  if (Object.keys(annotations).length > 0 && !checkAnnotations(annotations, stringMap(meta.annotations))) {
    errs.push('annotations does not match');
  }

  if (description.selector != null) {
    const r = checkSelector(description.selector, stringMap(meta.labels));
    if (r.error) errs.push(`failed to parse selector: ${r.error}`);
    else if (!r.matched) errs.push('selector does not match');
  }

  if (description.namespaceSelector != null) {
    const kind = resourceKind(t.resource);
    if (kind === 'Namespace') {
      errs.push('namespace selector is not applicable for namespace resource');
    } else if (kind !== '' || kinds.includes('*')) {
      const r = checkSelector(description.namespaceSelector, t.namespaceLabels);
      if (r.error) errs.push(`failed to parse namespace selector: ${r.error}`);
      else if (!r.matched) errs.push('namespace selector does not match labels');
    }
  }

  const roles = asStrings(userInfo.roles);
  if (roles.length > 0 && !(t.requestInfo.roles ?? []).some((r) => roles.includes(r))) {
    errs.push('user info does not match roles for the given conditionBlock');
  }
  const clusterRoles = asStrings(userInfo.clusterRoles);
  if (clusterRoles.length > 0 && !(t.requestInfo.clusterRoles ?? []).some((r) => clusterRoles.includes(r))) {
    errs.push('user info does not match clustersRoles for the given conditionBlock');
  }
  const subjects = Array.isArray(userInfo.subjects) ? userInfo.subjects : [];
  if (subjects.length > 0 && !checkSubjects(subjects, t.requestInfo.userInfo ?? {})) {
    errs.push('user info does not match subject for the given conditionBlock');
  }
  return errs;
}
