/**
 * The permission questions of Kyverno's policy admission (engine/policy/auth-checks) asked of
 * the API server as Kyverno asks them: one SubjectAccessReview per verb for the service account
 * the background work runs as (pkg/auth/checker/subject.go; pkg/auth/auth.go resolves the
 * resource through discovery first). Kyverno asks a synchronizing generate rule's list/get of
 * its admission controller's own account and everything else of its background controller's
 * (`--backgroundServiceAccountName`); ours names both when they differ (`admissionUser`), and
 * otherwise one service account does the work of both and answers for both. When the webhook runs with
 * the developer's own credentials (local mode) there is no service account to name: the
 * controllers act as those credentials, so it asks with a SelfSubjectAccessReview.
 */
import type { JsonObject } from '../engine/core/types';
import { asObject } from '../engine/core/json';
import { splitKindSelector } from '../engine/kube/selectors';
import { resolveKind, type CrdSchema, type KindTable, type ServedResource } from '../engine/kube';
import { accessQuestions, questionKey, type AccessAccount, type AccessAnswer, type AccessCheckOptions, type AccessQuestion } from '../engine/policy/auth-checks';

export interface ResourceAttributes {
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  verb: string;
}

export interface AccessReviewer {
  /** The user the background work runs as (`system:serviceaccount:NS:NAME`); undefined: this process's own credentials. */
  user?: string;
  /** The admission controller's own account, asked a synchronizing generate rule's list/get (Kyverno's KyvernoServiceAccountName); default: `user`. */
  admissionUser?: string;
  /** The cleanup controller's own account, asked a cleanup policy's delete/list; default: `user` (ours runs in this process). */
  cleanupUser?: string;
  /** How a rejection names the user when `user` is undefined. */
  selfName?: string;
  /** POSTs a review to the API server and returns what it answered. */
  post(path: string, body: JsonObject): Promise<JsonObject>;
  /** Discovery: the resource of `apiVersion` (possibly empty: any version) and `kind`. */
  resourceOf(apiVersion: string, kind: string): Promise<{ group: string; version: string; resource: string } | undefined>;
}

/** The SubjectAccessReview (or SelfSubjectAccessReview, without a user) for one request's attributes. */
export function accessReviewBody(attrs: ResourceAttributes, user: string | undefined): { path: string; body: JsonObject } {
  const resourceAttributes = { group: attrs.group, version: attrs.version, resource: attrs.resource, subresource: attrs.subresource, namespace: attrs.namespace, verb: attrs.verb, name: attrs.name };
  return user
    ? { path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { resourceAttributes, user } } }
    : { path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } } };
}

/** RunAccessCheck for one question asked of `user`: discovery, then the review. */
async function answer(q: AccessQuestion, reviewer: AccessReviewer, user: string | undefined): Promise<AccessAnswer> {
  const { apiVersion, kind } = splitKindSelector(q.gvk);
  let resource: Awaited<ReturnType<AccessReviewer['resourceOf']>>;
  try {
    resource = await reviewer.resourceOf(apiVersion, kind);
  } catch {
    resource = undefined;
  }
  if (!resource) return { error: `failed to get GVR for kind ${q.gvk}` };
  const { path, body } = accessReviewBody({ ...resource, subresource: q.subresource, namespace: q.namespace, name: q.name, verb: q.verb }, user);
  try {
    const reply = await reviewer.post(path, body);
    return { allowed: asObject(reply.status).allowed === true };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The answers to a policy's questions as plain data (they travel from the primary to a server process). */
export interface AccessAnswers {
  /** The background controller's account, as a rejection names it. */
  user: string;
  /** The admission controller's account when it is another (a synchronizing generate rule's list/get). */
  admissionUser?: string;
  /** The cleanup controller's account when it is another (a cleanup policy's delete/list). */
  cleanupUser?: string;
  /** Keyed by account and question (`answerKey`). */
  answers: Array<[string, AccessAnswer]>;
  /** Discovery's answers for the policy's kinds (engine/policy kindLookups), when the primary could ask. */
  kinds?: Array<[string, ServedResource[]]>;
  /** The CRDs serving those kinds, for the CEL type check of validate.cel (kube-api crdSchemasServing). */
  crds?: CrdSchema[];
  /** What the webhook's own credentials lack of what the policy needs (policy-grant-check.ts), one warning each. */
  grantWarnings?: string[];
}

/** One answer per account and question; the accounts share a key when they are the same user. */
function answerKey(account: AccessAccount, q: AccessQuestion, separate: boolean): string {
  return separate ? `${account}:${questionKey(q)}` : questionKey(q);
}

/** Asks every question of the policy, each of the account Kyverno asks it of. */
export async function collectAccessAnswers(policy: JsonObject, reviewer: AccessReviewer): Promise<AccessAnswers> {
  const other = (u: string | undefined) => (u !== undefined && u !== reviewer.user ? u : undefined);
  const accounts: Record<AccessAccount, string | undefined> = { admission: other(reviewer.admissionUser), background: undefined, cleanup: other(reviewer.cleanupUser) };
  const separate = accounts.admission !== undefined || accounts.cleanup !== undefined;
  const answers = new Map<string, AccessAnswer>();
  const questions = new Map(accessQuestions(policy).map((q) => [answerKey(q.account, q, separate), q]));
  await Promise.all([...questions].map(async ([key, q]) => answers.set(key, await answer(q, reviewer, accounts[q.account] ?? reviewer.user))));
  const user = reviewer.user ?? reviewer.selfName ?? "the webhook's own credentials";
  return { user, ...(accounts.admission ? { admissionUser: accounts.admission } : {}), ...(accounts.cleanup ? { cleanupUser: accounts.cleanup } : {}), answers: [...answers] };
}

/** What evaluatePolicyValidation needs to decide, from the answers. */
export function accessOptionsOf(collected: AccessAnswers): AccessCheckOptions {
  const answers = new Map(collected.answers);
  const separate = collected.admissionUser !== undefined || collected.cleanupUser !== undefined;
  return {
    users: { admission: collected.admissionUser ?? collected.user, background: collected.user, cleanup: collected.cleanupUser ?? collected.user },
    answer: (account, q) => answers.get(answerKey(account, q, separate)),
  };
}

export async function answerAccessQuestions(policy: JsonObject, reviewer: AccessReviewer): Promise<AccessCheckOptions> {
  return accessOptionsOf(await collectAccessAnswers(policy, reviewer));
}

/**
 * Discovery over a kind table (engine/kube's, or kube-api's with the cluster's CRDs): the
 * resource of `apiVersion` (empty: its preferred version) and `kind`.
 */
export function resourceFromTable(apiVersion: string, kind: string, table: KindTable): { group: string; version: string; resource: string } | undefined {
  if (!kind || kind.includes('*')) return undefined;
  const found = resolveKind(apiVersion ? `${apiVersion}/${kind}` : kind, table);
  const first = found?.find((r) => r.group !== '*' && r.version !== '*');
  return first && { group: first.group, version: first.version, resource: first.resource };
}
