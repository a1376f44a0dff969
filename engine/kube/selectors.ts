/**
 * Kind selectors and group/version strings as Kyverno reads them
 * (github.com/kyverno/kyverno pkg/utils/kube/kind.go). A selector is one of
 * `Kind`, `version/Kind`, `group/version/Kind`, each optionally followed by a
 * subresource (`Pod/exec`, `Pod.status`, `apps/v1/Deployment/scale`) and each part may be `*`.
 */
import type { GroupVersionKind, JsonObject } from '../core/types';
import { wildcardMatch } from '../wildcard/wildcard';

export interface KindSelector {
  group: string;
  version: string;
  kind: string;
  subresource: string;
}

/** `v1`, `v2beta1`, `v1alpha3` or `*`: how Kyverno tells a version from a group or a kind. */
const VERSION = /^(v\d+((alpha|beta)\d+)?|\*)$/;

export function isVersionLike(s: string): boolean {
  return VERSION.test(s);
}

/**
 * Splits a kind selector into group/version/kind/subresource. Missing parts are `*`
 * (any), a missing subresource is `` (the main resource only). Only the last segment may
 * use `.` instead of `/` before the subresource. Five or more segments give all-empty parts,
 * which match nothing but the empty string — as in Kyverno.
 */
function sel(group: string, version: string, kind: string, subresource: string): KindSelector {
  return { group, version, kind, subresource };
}

export function parseKindSelector(input: string): KindSelector {
  let parts = input.split('/');
  parts = [...parts.slice(0, -1), ...parts[parts.length - 1].split('.')];
  switch (parts.length) {
    case 1:
      return sel('*', '*', parts[0], '');
    case 2:
      if (parts[0] === '*' && parts[1] === '*') return sel('*', '*', '*', '*');
      // `*/scale`: a lowercase second part after `*` is a subresource of any kind.
      if (parts[0] === '*' && parts[1].toLowerCase() === parts[1]) return sel('*', '*', '*', parts[1]);
      if (VERSION.test(parts[0])) return sel('*', parts[0], parts[1], '');
      return sel('*', '*', parts[0], parts[1]);
    case 3:
      if (VERSION.test(parts[0])) return sel('*', parts[0], parts[1], parts[2]);
      return sel(parts[0], parts[1], parts[2], '');
    case 4:
      return sel(parts[0], parts[1], parts[2], parts[3]);
    default:
      return sel('', '', '', '');
  }
}

/** Kyverno's GetKindFromGVK: the `group/version` (or version) part and the `Kind[/sub]` part. */
export function splitKindSelector(str: string): { apiVersion: string; kind: string } {
  const formatSub = (s: string) => s.replace('.', '/');
  const parts = str.split('/');
  switch (parts.length) {
    case 1:
      return { apiVersion: '', kind: formatSub(str) };
    case 2:
      if (parts[0] === '*' && parts[1] === '*') return { apiVersion: '', kind: '*/*' };
      if (VERSION.test(parts[0])) return { apiVersion: parts[0], kind: formatSub(parts[1]) };
      return { apiVersion: '', kind: `${parts[0]}/${parts[1]}` };
    case 3:
      if (VERSION.test(parts[0])) return { apiVersion: parts[0], kind: `${parts[1]}/${parts[2]}` };
      return { apiVersion: `${parts[0]}/${parts[1]}`, kind: formatSub(parts[2]) };
    case 4:
      return { apiVersion: `${parts[0]}/${parts[1]}`, kind: `${parts[2]}/${parts[3]}` };
    default:
      return { apiVersion: '', kind: '' };
  }
}

/** `Kind/sub` → [Kind, sub]; anything else is a kind without subresource. */
export function splitSubresource(s: string): [string, string] {
  const parts = s.split('/');
  return parts.length === 2 ? [parts[0], parts[1]] : [s, ''];
}

/** Kyverno's ContainsKind: whether any selector of the list names exactly this kind (no wildcard). */
export function containsKind(list: readonly string[], kind: string): boolean {
  return list.some((e) => splitSubresource(splitKindSelector(e).kind)[0] === kind);
}

// Rules name the same few selectors on every request; the cache is bounded against
// hostile inputs (it is simply dropped when full).
const parsedSelectors = new Map<string, Readonly<KindSelector>>();
const MAX_PARSED_SELECTORS = 4096;

function parsedSelector(input: string): Readonly<KindSelector> {
  let k = parsedSelectors.get(input);
  if (k) return k;
  if (parsedSelectors.size >= MAX_PARSED_SELECTORS) parsedSelectors.clear();
  k = Object.freeze(parseKindSelector(input));
  parsedSelectors.set(input, k);
  return k;
}

/** Kyverno's CheckKind: whether a GVK (and subresource) is selected by any of the selectors. */
export function kindSelectorsMatch(
  selectors: readonly string[],
  gvk: GroupVersionKind,
  subresource: string,
  allowEphemeralContainers = true,
): boolean {
  for (const s of selectors) if (selectorMatches(parsedSelector(s), gvk, subresource, allowEphemeralContainers)) return true;
  return false;
}

/** Selectors parsed once, for lists checked on every request (a rule's match kinds). */
export type ParsedKindSelectors = ReadonlyArray<Readonly<KindSelector>>;

export function parseKindSelectors(selectors: readonly string[]): ParsedKindSelectors {
  return selectors.map(parsedSelector);
}

/** kindSelectorsMatch on selectors parsed with parseKindSelectors. */
export function parsedKindSelectorsMatch(
  selectors: ParsedKindSelectors,
  gvk: GroupVersionKind,
  subresource: string,
  allowEphemeralContainers = true,
): boolean {
  for (const k of selectors) if (selectorMatches(k, gvk, subresource, allowEphemeralContainers)) return true;
  return false;
}

function selectorMatches(k: Readonly<KindSelector>, gvk: GroupVersionKind, subresource: string, allowEphemeralContainers: boolean): boolean {
  if (!wildcardMatch(k.group, gvk.group) || !wildcardMatch(k.version, gvk.version) || !wildcardMatch(k.kind, gvk.kind)) return false;
  if (wildcardMatch(k.subresource, subresource)) return true;
  // Kyverno keeps matching Pod rules on ephemeral containers for backward compatibility.
  return allowEphemeralContainers && gvk.group === '' && gvk.version === 'v1' && gvk.kind === 'Pod' && subresource === 'ephemeralcontainers';
}

/**
 * apimachinery's ParseGroupVersion: `` → {}, `v1` → core group, `apps/v1` → group apps.
 * More than one `/` is invalid.
 */
export function parseApiVersion(apiVersion: string): { group: string; version: string } | { error: string } {
  if (apiVersion === '' || apiVersion === '/') return { group: '', version: '' };
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0] };
  if (parts.length === 2) return { group: parts[0], version: parts[1] };
  return { error: `unexpected GroupVersion string: ${apiVersion}` };
}

export function formatApiVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** The GVK written in a resource (`apiVersion` + `kind`); unparsable apiVersions give empty parts. */
export function resourceGVK(resource: JsonObject | null | undefined): GroupVersionKind {
  const apiVersion = typeof resource?.apiVersion === 'string' ? resource.apiVersion : '';
  const kind = typeof resource?.kind === 'string' ? resource.kind : '';
  const gv = parseApiVersion(apiVersion);
  if ('error' in gv) return { group: '', version: '', kind };
  return { group: gv.group, version: gv.version, kind };
}

/**
 * Kyverno's GroupVersionMatches: a group/version from a policy (possibly with `*`) against
 * the group/version of a served resource.
 */
export function groupVersionMatches(groupVersion: string, served: string): boolean {
  if (!groupVersion.includes('*')) {
    const gv = parseApiVersion(groupVersion);
    const sv = parseApiVersion(served);
    if ('error' in gv || 'error' in sv) return false;
    return gv.group === sv.group && gv.version === sv.version;
  }
  if (groupVersion === '*') return true;
  const sv = parseApiVersion(served);
  if ('error' in sv) return false;
  const i = groupVersion.indexOf('/');
  const [group, version] = i >= 0 ? [groupVersion.slice(0, i), groupVersion.slice(i + 1)] : ['', groupVersion];
  return wildcardMatch(group, sv.group) && wildcardMatch(version, sv.version);
}
