/**
 * The permission questions of Kyverno's policy admission (engine/policy/auth-checks) asked of
 * the API server as Kyverno asks them: one SubjectAccessReview per verb for the service account
 * the background work runs as (pkg/auth/checker/subject.go; pkg/auth/auth.go resolves the
 * resource through discovery first). Our one service account does the work of Kyverno's
 * admission and background controllers, so it answers for both. When the webhook runs with
 * the developer's own credentials (local mode) there is no service account to name: the
 * controllers act as those credentials, so it asks with a SelfSubjectAccessReview.
 */
import type { JsonObject } from '../engine/core/types';
import { asObject } from '../engine/core/json';
import { splitKindSelector } from '../engine/kube/selectors';
import { resolveKind, type KindTable, type ServedResource } from '../engine/kube';
import { accessQuestions, questionKey, type AccessAnswer, type AccessCheckOptions, type AccessQuestion } from '../engine/policy/auth-checks';

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

/** RunAccessCheck for one question: discovery, then the review. */
async function answer(q: AccessQuestion, reviewer: AccessReviewer): Promise<AccessAnswer> {
  const { apiVersion, kind } = splitKindSelector(q.gvk);
  let resource: Awaited<ReturnType<AccessReviewer['resourceOf']>>;
  try {
    resource = await reviewer.resourceOf(apiVersion, kind);
  } catch {
    resource = undefined;
  }
  if (!resource) return { error: `failed to get GVR for kind ${q.gvk}` };
  const { path, body } = accessReviewBody({ ...resource, subresource: q.subresource, namespace: q.namespace, name: q.name, verb: q.verb }, reviewer.user);
  try {
    const reply = await reviewer.post(path, body);
    return { allowed: asObject(reply.status).allowed === true };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The answers to a policy's questions as plain data (they travel from the primary to a server process). */
export interface AccessAnswers {
  user: string;
  answers: Array<[string, AccessAnswer]>;
  /** Discovery's answers for the policy's kinds (engine/policy kindLookups), when the primary could ask. */
  kinds?: Array<[string, ServedResource[]]>;
  /** What the webhook's own credentials lack of what the policy needs (policy-grant-check.ts), one warning each. */
  grantWarnings?: string[];
}

/** Asks every question of the policy. */
export async function collectAccessAnswers(policy: JsonObject, reviewer: AccessReviewer): Promise<AccessAnswers> {
  const answers = new Map<string, AccessAnswer>();
  // One account stands for both of Kyverno's: each question is asked once.
  const questions = new Map(accessQuestions(policy).map((q) => [questionKey(q), q]));
  await Promise.all([...questions].map(async ([key, q]) => answers.set(key, await answer(q, reviewer))));
  return { user: reviewer.user ?? reviewer.selfName ?? "the webhook's own credentials", answers: [...answers] };
}

/** What evaluatePolicyValidation needs to decide, from the answers. */
export function accessOptionsOf(collected: AccessAnswers): AccessCheckOptions {
  const answers = new Map(collected.answers);
  return { users: { admission: collected.user, background: collected.user }, answer: (_account, q) => answers.get(questionKey(q)) };
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
