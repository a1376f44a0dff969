/**
 * Kyverno's permission checks at policy admission (pkg/policy/mutate/validate.go validateAuth,
 * pkg/policy/generate/validate.go validateAuth/canIGenerate, pkg/policy/auth/auth.go CanI and
 * buildMessage): a mutate rule with targets, or a generate rule, is rejected when the service
 * account that will do the work may not get/update the targets or get/create (update/delete
 * when synchronizing) what it generates. Kyverno asks the API server with one
 * SubjectAccessReview per verb; the engine cannot, so this is in two halves: `accessQuestions`
 * says what to ask, the caller (the webhook) asks, and `accessCheckError` words Kyverno's
 * rejection from the answers. Kyverno's cleanup controller checks a cleanup policy the same way
 * on its own webhook (pkg/validation/cleanuppolicy validateAuth): its own account must be
 * allowed to delete, then list, each kind (and name) the policy matches. Pure.
 */
import type { JsonObject } from '../core/types';
import { asArray, asObject, isJsonObject } from '../core/json';
import { parseKindSelector, splitKindSelector, splitSubresource } from '../kube/selectors';
import { hasVariables } from '../variables/substitute';
import { isCleanupPolicy } from '../cleanup/policy';

/** The service account a question is asked of: Kyverno's admission, background or cleanup controller's. */
export type AccessAccount = 'admission' | 'background' | 'cleanup';

/** One permission question: may the user do `verb` on `apiVersion/kind[/subresource]` in `namespace` (named `name`)? */
export interface AccessQuestion {
  verb: string;
  /** Kyverno's "gvk" string: `apiVersion/Kind` as the rule names it (the apiVersion may be empty). */
  gvk: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** The answer to one question, or the error that kept it from being answered (discovery, the API call). */
export type AccessAnswer = { allowed: boolean } | { error: string };

/** A rule's permission check: the verbs asked together and where a failure is reported. */
interface RuleCheck {
  rule: number;
  /** `mutate.targets` or `generate.` / `generate.foreach` (Kyverno's path argument). */
  action: 'mutate' | 'generate';
  path: string;
  /** Kyverno asks the admission controller's account (list/get) before the background one when synchronizing. */
  account: 'admission' | 'background';
  /** For mutate, every target is asked and the failures joined; for generate, the first failing check ends it. */
  checks: Array<{ gvk: string; subresource: string; namespace: string; name: string; verbs: string[] }>;
}

export function questionKey(q: AccessQuestion): string {
  return JSON.stringify([q.verb, q.gvk, q.subresource, q.namespace, q.name]);
}

/** Kyverno's regex.IsVariable: the value holds a `{{ }}` variable. */
const isVariable = (s: string) => hasVariables(s);

function mutateChecks(rule: JsonObject, index: number): RuleCheck[] {
  const mutate = asObject(rule.mutate);
  // Mutate.Validate returns after checking a foreach before it reaches the targets' permissions.
  if (asArray(mutate.foreach).length > 0) return [];
  if (!Array.isArray(mutate.targets)) return [];
  const checks: RuleCheck['checks'] = [];
  for (const t of mutate.targets.map(asObject)) {
    const kind = typeof t.kind === 'string' ? t.kind : '';
    if (isVariable(kind)) continue;
    const selector = parseKindSelector(kind);
    const apiVersion = typeof t.apiVersion === 'string' ? t.apiVersion : '';
    checks.push({ gvk: `${apiVersion}/${selector.kind}`, subresource: selector.subresource, namespace: String(t.namespace ?? ''), name: String(t.name ?? ''), verbs: ['get', 'update'] });
  }
  return checks.length ? [{ rule: index, action: 'mutate', path: 'targets', account: 'background', checks }] : [];
}

/** The one check of a generate pattern (validateAuth: a cloneList's first kind, else the kind). */
function generatePatternCheck(pattern: JsonObject, verbs: string[]): RuleCheck['checks'][number] | undefined {
  const namespace = String(pattern.namespace ?? '');
  const cloneKinds = asArray(asObject(pattern.cloneList).kinds).map(String);
  let gvk: string;
  let subresource: string;
  if (cloneKinds.length) {
    // parseCloneKind: the group/version stays unless it holds a wildcard.
    const { apiVersion, kind } = splitKindSelector(cloneKinds[0]);
    const [k, sub] = splitSubresource(kind);
    gvk = apiVersion.includes('*') ? k : `${apiVersion}/${k}`;
    subresource = sub;
  } else {
    const [k, sub] = splitSubresource(String(pattern.kind ?? ''));
    gvk = `${String(pattern.apiVersion ?? '')}/${k}`;
    subresource = sub;
  }
  if (isVariable(gvk)) return undefined;
  return { gvk, subresource, namespace, name: '', verbs };
}

function generateChecks(rule: JsonObject, index: number): RuleCheck[] {
  const generate = asObject(rule.generate);
  const synchronize = generate.synchronize === true;
  const patterns = Array.isArray(generate.foreach) ? generate.foreach.map(asObject) : [generate];
  const path = Array.isArray(generate.foreach) ? 'foreach' : '';
  const out: RuleCheck[] = [];
  const pass = (account: RuleCheck['account'], verbs: string[]) => {
    const checks = patterns.map((p) => generatePatternCheck(p, verbs)).filter((c) => c !== undefined);
    if (checks.length) out.push({ rule: index, action: 'generate', path, account, checks });
  };
  // A synchronizing rule: the admission controller lists and gets the downstream first.
  if (synchronize) pass('admission', ['list', 'get']);
  pass('background', synchronize ? ['get', 'create', 'update', 'delete'] : ['get', 'create']);
  return out;
}

/**
 * A cleanup policy's check: delete, then list, of every kind × name of its match filters,
 * `all` then `any` (GetResourceFilters' order, so the first refusal named is Kyverno's), in the
 * policy's namespace, each kind as written.
 */
function cleanupChecks(policy: JsonObject): CleanupCheck[] {
  const match = asObject(asObject(policy.spec).match);
  const filters = [...asArray(match.all), ...asArray(match.any)].map((f) => asObject(asObject(f).resources));
  const namespace = String(asObject(policy.metadata).namespace ?? '');
  const out: CleanupCheck[] = [];
  for (const resources of filters) {
    const names = asArray(resources.names).map(String);
    for (const kind of asArray(resources.kinds).map(String)) {
      for (const name of names.length ? names : ['']) out.push({ kind, namespace, name });
    }
  }
  return out;
}

interface CleanupCheck {
  kind: string;
  namespace: string;
  name: string;
}

const CLEANUP_VERBS = ['delete', 'list'];

function ruleChecks(policy: JsonObject): RuleCheck[] {
  const out: RuleCheck[] = [];
  asArray(asObject(policy.spec).rules).map(asObject).forEach((rule, i) => {
    if (isJsonObject(rule.mutate)) out.push(...mutateChecks(rule, i));
    if (isJsonObject(rule.generate)) out.push(...generateChecks(rule, i));
  });
  return out;
}

/** What to ask the API server (one question per verb) before `accessCheckError` can decide. */
export function accessQuestions(policy: JsonObject): Array<AccessQuestion & { account: AccessAccount }> {
  const seen = new Set<string>();
  const out: Array<AccessQuestion & { account: AccessAccount }> = [];
  if (isCleanupPolicy(policy)) {
    for (const c of cleanupChecks(policy)) {
      for (const verb of CLEANUP_VERBS) {
        const q = { verb, gvk: c.kind, subresource: '', namespace: c.namespace, name: c.name, account: 'cleanup' as const };
        if (!seen.has(questionKey(q))) out.push(q);
        seen.add(questionKey(q));
      }
    }
    return out;
  }
  for (const check of ruleChecks(policy)) {
    for (const c of check.checks) {
      for (const verb of c.verbs) {
        const q = { verb, gvk: c.gvk, subresource: c.subresource, namespace: c.namespace, name: c.name, account: check.account };
        const key = `${check.account}:${questionKey(q)}`;
        if (!seen.has(key)) out.push(q);
        seen.add(key);
      }
    }
  }
  return out;
}

/** buildMessage: `<user> requires permissions <verbs> for resource <gvk[/sub]>[ in namespace <ns>]`. */
function missingMessage(user: string, c: RuleCheck['checks'][number], failed: string[]): string {
  const resource = c.subresource ? `${c.gvk}/${c.subresource}` : c.gvk;
  const msg = `${user} requires permissions ${failed.join(',')} for resource ${resource}`;
  return c.namespace ? `${msg} in namespace ${c.namespace}` : msg;
}

export interface AccessCheckOptions {
  /** The users Kyverno names (its --backgroundServiceAccountName and its own account); ours may be one. */
  users: { admission: string; background: string; cleanup?: string };
  /** The answer to a question asked as `account`; undefined when it was not asked (no check). */
  answer: (account: AccessAccount, q: AccessQuestion) => AccessAnswer | undefined;
}

/** Kyverno's rejection for the first rule whose service account lacks a permission, or undefined. */
export function accessCheckError(policy: JsonObject, options: AccessCheckOptions): string | undefined {
  if (isCleanupPolicy(policy)) return cleanupAccessError(policy, options);
  for (const check of ruleChecks(policy)) {
    const user = options.users[check.account];
    // CanI per target or pattern: every verb asked, the missing ones listed.
    const failures: string[] = [];
    for (const c of check.checks) {
      const failed: string[] = [];
      let error: string | undefined;
      for (const verb of c.verbs) {
        const a = options.answer(check.account, { verb, gvk: c.gvk, subresource: c.subresource, namespace: c.namespace, name: c.name });
        if (a === undefined) continue;
        if ('error' in a) {
          error = a.error;
          break;
        }
        if (!a.allowed) failed.push(verb);
      }
      if (error !== undefined) {
        // An unanswered question ends the check with its error alone.
        failures.splice(0, failures.length, error);
        break;
      }
      if (failed.length) failures.push(missingMessage(user, c, failed));
      // Generate stops at its first failing pattern (validateAuth returns it).
      if (failed.length && check.action === 'generate') break;
    }
    if (!failures.length) continue;
    if (check.action === 'mutate') {
      // multierr.Combine joins the targets' messages with "; ".
      return `path: spec.rules[${check.rule}].mutate.${check.path}.: auth check fails, additional privileges are required for the service account '${user}': ${failures.join('; ')}`;
    }
    return `path: spec.rules[${check.rule}].generate.${check.path}.: ${failures[0]}`;
  }
  return undefined;
}

/**
 * Kyverno's cleanup canI: the first kind whose delete (then list) is not allowed ends the check
 * with "cleanup controller has no permission to <verb> kind <kind>"; an unanswered question
 * with its error.
 */
function cleanupAccessError(policy: JsonObject, options: AccessCheckOptions): string | undefined {
  for (const c of cleanupChecks(policy)) {
    for (const verb of CLEANUP_VERBS) {
      const a = options.answer('cleanup', { verb, gvk: c.kind, subresource: '', namespace: c.namespace, name: c.name });
      if (a === undefined) continue;
      if ('error' in a) return a.error;
      if (!a.allowed) return `cleanup controller has no permission to ${verb} kind ${c.kind}`;
    }
  }
  return undefined;
}
