/**
 * Who a request comes from, as Kyverno's admission controller looks at it. Pure.
 *
 * - Configuration exclusions (`excludeUsernames`, `excludeGroups`, `excludeRoles`,
 *   `excludeClusterRoles` in Kyverno's ConfigMap, pkg/config): comma-separated wildcard
 *   patterns; one starting with `!` is an inclusion, which wins over every exclusion. An
 *   admission request from an excluded user runs no rule (Kyverno's engine answers "excluded
 *   by configuration" before matching); background scans are not admission and ignore them.
 * - The background controller's own service account (Kyverno's
 *   `--backgroundServiceAccountName`): its writes (mutated targets, generated objects) come
 *   back through admission. They do not queue generate or mutate-existing work for rules
 *   whose `skipBackgroundRequests` is true (the default), and edits of generated objects made
 *   by it are not taken for hand edits to undo (pkg/webhooks/resource: skipBackgroundRequests,
 *   and the generation handler's handleNonTrigger).
 */
import { wildcardMatch } from '../engine/wildcard/wildcard';
import { asArray, asObject } from '../engine/core/json';
import type { JsonObject } from '../engine/core/types';

interface UserPatterns {
  usernames: string[];
  groups: string[];
  roles: string[];
  clusterRoles: string[];
}

export interface UserExclusions {
  exclude: UserPatterns;
  include: UserPatterns;
}

/** The four ConfigMap entries, each "a,b,!c" (Kyverno's parseExclusions). */
export interface UserExclusionSettings {
  excludeUsernames?: string;
  excludeGroups?: string;
  excludeRoles?: string;
  excludeClusterRoles?: string;
}

function split(text: string | undefined): { exclude: string[]; include: string[] } {
  const exclude: string[] = [];
  const include: string[] = [];
  for (const raw of (text ?? '').split(',')) {
    let entry = raw.trim();
    const inclusion = entry.startsWith('!');
    if (inclusion) entry = entry.slice(1).trim();
    if (!entry) continue;
    (inclusion ? include : exclude).push(entry);
  }
  return { exclude, include };
}

/** Undefined when nothing is excluded or included (the common case costs nothing per review). */
export function parseUserExclusions(settings: UserExclusionSettings): UserExclusions | undefined {
  const u = split(settings.excludeUsernames);
  const g = split(settings.excludeGroups);
  const r = split(settings.excludeRoles);
  const c = split(settings.excludeClusterRoles);
  if (![u, g, r, c].some((x) => x.exclude.length || x.include.length)) return undefined;
  return {
    exclude: { usernames: u.exclude, groups: g.exclude, roles: r.exclude, clusterRoles: c.exclude },
    include: { usernames: u.include, groups: g.include, roles: r.include, clusterRoles: c.include },
  };
}

export interface RequestUser {
  username: string;
  groups: string[];
  roles?: string[];
  clusterRoles?: string[];
}

function matches(p: UserPatterns, user: RequestUser): boolean {
  const any = (patterns: string[], values: string[]) => patterns.some((pattern) => values.some((v) => wildcardMatch(pattern, v)));
  return any(p.usernames, [user.username]) || any(p.groups, user.groups) || any(p.roles, user.roles ?? []) || any(p.clusterRoles, user.clusterRoles ?? []);
}

/** Kyverno's IsExcluded: an inclusion keeps the request in; otherwise any exclusion takes it out. */
export function isExcludedUser(exclusions: UserExclusions | undefined, user: RequestUser): boolean {
  if (!exclusions) return false;
  if (matches(exclusions.include, user)) return false;
  return matches(exclusions.exclude, user);
}

/** The user of an AdmissionReview's request (unvalidated JSON: odd shapes give an empty user). */
export function requestUser(request: JsonObject): RequestUser {
  const info = asObject(request.userInfo);
  return { username: typeof info.username === 'string' ? info.username : '', groups: asArray(info.groups).filter((g): g is string => typeof g === 'string') };
}

/**
 * Kyverno's skipBackgroundRequests for a request made by the background service account:
 * the policy without the rules that skip such requests (`skipBackgroundRequests`, true unless
 * a rule says false); undefined when no rule is left. Other users' requests keep every rule.
 */
export function withoutSkippedBackgroundRules(policy: JsonObject, username: string, backgroundUsername: string | undefined): JsonObject | undefined {
  if (!backgroundUsername || username !== backgroundUsername) return policy;
  const spec = asObject(policy.spec);
  // A CEL policy (GeneratingPolicy, MutatingPolicy) is one rule: Kyverno's
  // SkipBackgroundRequestsEnabled reads `spec.evaluation.skipBackgroundRequests` (true unless set false).
  if (!Array.isArray(spec.rules)) return asObject(spec.evaluation).skipBackgroundRequests === false ? policy : undefined;
  const rules = asArray(spec.rules).filter((r) => asObject(r).skipBackgroundRequests === false);
  if (!rules.length) return undefined;
  return rules.length === asArray(spec.rules).length ? policy : { ...policy, spec: { ...spec, rules } };
}

/**
 * The service account a Kubernetes bearer token was issued to ("system:serviceaccount:NS:NAME",
 * from the JWT's `sub` claim), or undefined for any other credential.
 */
export function serviceAccountOfToken(token: string | undefined): string | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as { sub?: unknown };
    return typeof claims.sub === 'string' && claims.sub.startsWith('system:serviceaccount:') ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}
