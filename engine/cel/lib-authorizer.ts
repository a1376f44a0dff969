/**
 * Kubernetes' CEL authorizer library (k8s.io/apiserver/pkg/cel/library/authz.go) as a classic
 * `validate.cel` rule sees it: `authorizer` (the requesting user) and
 * `authorizer.serviceAccount(ns, name)` build checks with `path`, `group`, `resource`,
 * `subresource`, `namespace`, `name`; `check(verb)` gives a Decision (`allowed`, `reason`,
 * `errored`, `error`).
 *
 * Kyverno answers every check with its own authorizer (pkg/engine/internal/auth.go): one
 * SubjectAccessReview for the user's name only (no groups), about the resource of the
 * admitted object's kind (not the group and resource the check names), in the check's
 * namespace with its subresource and verb, without a name (pkg/engine/adapters CanI). The
 * engine is synchronous: the review is looked up among the POSTs its caller made
 * (`ClusterState.apiCallPosts`) or noted as a miss for the caller to make before it
 * evaluates again (the webhook); with nobody to make it, the decision is an error.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ClusterState, JsonObject } from '../core/types';
import { asObject } from '../core/json';
import { builtInKindTable, resolveKind } from '../kube';
import { postedAnswer } from '../context/apicall';

const SUBJECT_ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

export class CelAuthorizer {
  constructor(
    readonly cluster: ClusterState,
    /** The admitted object's kind: what Kyverno's authorizer asks about. */
    readonly kind: string,
    readonly user: string,
  ) {}
}
export class CelPathCheck {
  constructor(readonly authorizer: CelAuthorizer, readonly path: string) {}
}
export class CelGroupCheck {
  constructor(readonly authorizer: CelAuthorizer, readonly group: string) {}
}
export class CelResourceCheck {
  constructor(
    readonly authorizer: CelAuthorizer,
    readonly group: string,
    readonly resource: string,
    readonly subresource = '',
    readonly namespace = '',
    readonly name = '',
  ) {}
  with(field: 'subresource' | 'namespace' | 'name', value: string): CelResourceCheck {
    const next = { subresource: this.subresource, namespace: this.namespace, name: this.name, [field]: value };
    return new CelResourceCheck(this.authorizer, this.group, this.resource, next.subresource, next.namespace, next.name);
  }
}
export class CelDecision {
  constructor(readonly allowed: boolean, readonly reason: string, readonly error: string | undefined) {}
}

/** Kyverno's CanI: one SubjectAccessReview, answered by the API server through the caller. */
function decide(authz: CelAuthorizer, namespace: string, subresource: string, verb: string): CelDecision {
  const gvr = resolveKind(authz.kind, builtInKindTable())?.[0];
  if (!gvr) return new CelDecision(false, '', `failed to get GVR for kind ${authz.kind}`);
  // Go's encoding/json leaves out the empty fields (omitempty).
  const attributes: JsonObject = {};
  for (const [key, value] of Object.entries({ namespace, verb, group: gvr.group, version: gvr.version, resource: gvr.resource, subresource })) if (value !== '') attributes[key] = value;
  const spec: JsonObject = { resourceAttributes: attributes };
  if (authz.user !== '') spec.user = authz.user;
  const answer = postedAnswer(authz.cluster, SUBJECT_ACCESS_REVIEWS, { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec });
  if (answer === undefined) return new CelDecision(false, '', 'a SubjectAccessReview needs the API server, which is not reachable here');
  if ('error' in answer) return new CelDecision(false, '', answer.error);
  const status = asObject(asObject(answer.body).status);
  return new CelDecision(status.allowed === true, typeof status.reason === 'string' ? status.reason : '', undefined);
}

export function registerAuthorizerLibrary(env: Environment): void {
  env
    .registerType('kubernetes.authorization.Authorizer', CelAuthorizer)
    .registerType('kubernetes.authorization.PathCheck', CelPathCheck)
    .registerType('kubernetes.authorization.GroupCheck', CelGroupCheck)
    .registerType('kubernetes.authorization.ResourceCheck', CelResourceCheck)
    .registerType('kubernetes.authorization.Decision', CelDecision)
    .registerFunction('kubernetes.authorization.Authorizer.path(string): kubernetes.authorization.PathCheck', (a: CelAuthorizer, path: string) => new CelPathCheck(a, path))
    .registerFunction('kubernetes.authorization.Authorizer.group(string): kubernetes.authorization.GroupCheck', (a: CelAuthorizer, group: string) => new CelGroupCheck(a, group))
    // Kubernetes' serviceAccount(): the account's user name (Kyverno's authorizer drops the groups).
    .registerFunction('kubernetes.authorization.Authorizer.serviceAccount(string, string): kubernetes.authorization.Authorizer', (a: CelAuthorizer, ns: string, name: string) => new CelAuthorizer(a.cluster, a.kind, `system:serviceaccount:${ns}:${name}`))
    .registerFunction('kubernetes.authorization.GroupCheck.resource(string): kubernetes.authorization.ResourceCheck', (g: CelGroupCheck, resource: string) => new CelResourceCheck(g.authorizer, g.group, resource))
    .registerFunction('kubernetes.authorization.ResourceCheck.subresource(string): kubernetes.authorization.ResourceCheck', (r: CelResourceCheck, v: string) => r.with('subresource', v))
    .registerFunction('kubernetes.authorization.ResourceCheck.namespace(string): kubernetes.authorization.ResourceCheck', (r: CelResourceCheck, v: string) => r.with('namespace', v))
    .registerFunction('kubernetes.authorization.ResourceCheck.name(string): kubernetes.authorization.ResourceCheck', (r: CelResourceCheck, v: string) => r.with('name', v))
    .registerFunction('kubernetes.authorization.ResourceCheck.check(string): kubernetes.authorization.Decision', (r: CelResourceCheck, verb: string) => decide(r.authorizer, r.namespace, r.subresource, verb))
    .registerFunction('kubernetes.authorization.PathCheck.check(string): kubernetes.authorization.Decision', (p: CelPathCheck, verb: string) => decide(p.authorizer, '', '', verb))
    .registerFunction('kubernetes.authorization.Decision.allowed(): bool', (d: CelDecision) => d.allowed)
    .registerFunction('kubernetes.authorization.Decision.reason(): string', (d: CelDecision) => d.reason)
    .registerFunction('kubernetes.authorization.Decision.errored(): bool', (d: CelDecision) => d.error !== undefined)
    .registerFunction('kubernetes.authorization.Decision.error(): string', (d: CelDecision) => d.error ?? '');
}
