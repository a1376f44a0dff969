/**
 * One match/exclude filter (a ResourceDescription plus UserInfo) against one resource, as
 * Kyverno's doesResourceMatchConditionBlock (pkg/engine/utils/match.go): every attribute
 * that is set must hold (AND across attributes, OR inside a list); the returned list holds
 * one reason per attribute that does not hold, empty when the filter selects the resource.
 */
import type { GroupVersionKind, JsonObject, RequestInfo, UserInfo } from '../core/types';
import { parseKindSelectors, parsedKindSelectorsMatch, type ParsedKindSelectors } from '../kube/selectors';
import { wildcardMatch } from '../wildcard/wildcard';
import { checkSelector, type Labels } from './label-selector';
import { asObject } from '../core/json';

export interface MatchTarget {
  resource: JsonObject;
  gvk: GroupVersionKind;
  subresource: string;
  operation: string;
  namespaceLabels: Labels;
  requestInfo: RequestInfo;
  /** Whether requestInfo carries no user at all (worked out once per target when set). */
  noUserInfo?: boolean;
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

/** A `resources` block read once: every field conditionBlockFailures looks at. */
export interface CompiledDescription {
  operations: string[];
  kinds: string[];
  parsedKinds: ParsedKindSelectors;
  name: string;
  names: string[];
  namespaces: string[];
  annotations: Labels;
  hasAnnotations: boolean;
  selector: unknown;
  namespaceSelector: unknown;
  /** Nothing but kinds (and operations) is set: the usual `resources: {kinds: [...]}`. */
  kindsOnly: boolean;
}

/** The user-info half of a filter (subjects, roles, clusterRoles) read once. */
export interface CompiledUserInfo {
  roles: string[];
  clusterRoles: string[];
  subjects: unknown[];
  empty: boolean;
}

export function compileDescription(description: JsonObject): CompiledDescription {
  const annotations = stringMap(description.annotations);
  const kinds = asStrings(description.kinds);
  const compiled: CompiledDescription = {
    operations: asStrings(description.operations),
    kinds,
    parsedKinds: parseKindSelectors(kinds),
    name: str(description.name),
    names: asStrings(description.names),
    namespaces: asStrings(description.namespaces),
    annotations,
    hasAnnotations: Object.keys(annotations).length > 0,
    selector: description.selector,
    namespaceSelector: description.namespaceSelector,
    kindsOnly: false,
  };
  compiled.kindsOnly =
    compiled.name === '' &&
    compiled.names.length === 0 &&
    compiled.namespaces.length === 0 &&
    !compiled.hasAnnotations &&
    (compiled.selector === null || compiled.selector === undefined) &&
    (compiled.namespaceSelector === null || compiled.namespaceSelector === undefined);
  return compiled;
}

export function compileUserInfo(userInfo: JsonObject): CompiledUserInfo {
  const roles = asStrings(userInfo.roles);
  const clusterRoles = asStrings(userInfo.clusterRoles);
  const subjects = Array.isArray(userInfo.subjects) ? userInfo.subjects : [];
  return { roles, clusterRoles, subjects, empty: roles.length === 0 && clusterRoles.length === 0 && subjects.length === 0 };
}

/**
 * The reasons a filter does not select the target (empty: it does).
 * `description` is the `resources` block, `userInfo` the filter holding subjects/roles/clusterRoles.
 */
export function conditionBlockFailures(description: JsonObject, userInfo: JsonObject, t: MatchTarget): string[] {
  const failures = compiledBlockFailures(compileDescription(description), compileUserInfo(userInfo), t);
  // Only the shared empty answer is read-only; a list with failures is made per call.
  return failures === NO_FAILURES ? [] : (failures as string[]);
}

/** What compiledBlockFailures answers when the filter selects the target (shared: never change it). */
export const NO_FAILURES: readonly string[] = Object.freeze([]);

/** conditionBlockFailures on blocks already read (match filters are read once per rule). */
export function compiledBlockFailures(d: CompiledDescription, u: CompiledUserInfo, t: MatchTarget): readonly string[] {
  if (d.operations.length > 0 && !d.operations.includes(t.operation)) return ['operation does not match'];

  // Filters mostly select the target: the list is only made for a first failure.
  let errs: string[] | null = null;
  const kinds = d.kinds;
  if (d.kindsOnly && u.empty) {
    return kinds.length > 0 && !parsedKindSelectorsMatch(d.parsedKinds, t.gvk, t.subresource, true) ? [`kind does not match [${kinds.join(' ')}]`] : NO_FAILURES;
  }
  if (kinds.length > 0 && !parsedKindSelectorsMatch(d.parsedKinds, t.gvk, t.subresource, true)) {
    (errs ??= []).push(`kind does not match [${kinds.join(' ')}]`);
  }

  const meta = metadata(t.resource);
  if (d.name !== '' || d.names.length > 0) {
    const resourceName = str(meta.name) || str(meta.generateName);
    if (d.name !== '' && !wildcardMatch(d.name, resourceName)) (errs ??= []).push('name does not match');
    if (d.names.length > 0 && !d.names.some((n) => wildcardMatch(n, resourceName))) (errs ??= []).push('none of the names match');
  }

  if (d.namespaces.length > 0 && !checkNamespaces(d.namespaces, t.resource)) (errs ??= []).push('namespace does not match');

  if (d.hasAnnotations && !checkAnnotations(d.annotations, stringMap(meta.annotations))) {
    (errs ??= []).push('annotations does not match');
  }

  if (d.selector != null) {
    const r = checkSelector(d.selector, stringMap(meta.labels));
    if (r.error) (errs ??= []).push(`failed to parse selector: ${r.error}`);
    else if (!r.matched) (errs ??= []).push('selector does not match');
  }

  if (d.namespaceSelector != null) {
    const kind = resourceKind(t.resource);
    if (kind === 'Namespace') {
      (errs ??= []).push('namespace selector is not applicable for namespace resource');
    } else if (kind !== '' || kinds.includes('*')) {
      const r = checkSelector(d.namespaceSelector, t.namespaceLabels);
      if (r.error) (errs ??= []).push(`failed to parse namespace selector: ${r.error}`);
      else if (!r.matched) (errs ??= []).push('namespace selector does not match labels');
    }
  }

  if (u.roles.length > 0 && !(t.requestInfo.roles ?? []).some((r) => u.roles.includes(r))) {
    (errs ??= []).push('user info does not match roles for the given conditionBlock');
  }
  if (u.clusterRoles.length > 0 && !(t.requestInfo.clusterRoles ?? []).some((r) => u.clusterRoles.includes(r))) {
    (errs ??= []).push('user info does not match clustersRoles for the given conditionBlock');
  }
  if (u.subjects.length > 0 && !checkSubjects(u.subjects, t.requestInfo.userInfo ?? {})) {
    (errs ??= []).push('user info does not match subject for the given conditionBlock');
  }
  return errs ?? NO_FAILURES;
}
