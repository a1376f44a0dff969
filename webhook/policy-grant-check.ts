/**
 * Whether the webhook's own credentials hold what a policy needs. Deploy derives the service
 * account's RBAC from the policies it will serve (deploy/rbac.ts over policyGrants); a policy
 * applied later with kubectl gets nothing until the next deploy. Its permissions are asked of the
 * API server as this process (one SelfSubjectAccessReview per verb and name, over the same
 * policyGrants), and each missing one is said where the author looks: a warning in the
 * policy's admission answer, and, when the admission leader loads it, a log line and a Warning
 * event on the policy. Nothing is refused for it: Kyverno's own refusal (the generate and
 * mutate-existing access check, access-review.ts) is the only one.
 */
import type { JsonObject } from '../engine/core/types';
import { asObject } from '../engine/core/json';
import type { KindTable } from '../engine/kube';
import { accessReviewBody } from './access-review';
import { policyGrants, policyRef, type Grant } from './policy-grants';
import type { EventInfo } from './event-info';

export interface MissingGrant {
  grant: Grant;
  /** The verbs of the grant the API server refused. */
  verbs: string[];
}

/** Posts a review to the API server as this process and returns its answer. */
export type ReviewPost = (path: string, body: JsonObject) => Promise<JsonObject>;

/**
 * The grants policyGrants derives for `policy` that the credentials `post` runs with lack (verbs
 * refused). One review per distinct question, however many grants ask it: `asked` keeps the
 * answers, and may be shared by the policies of one pass so they ask the API server once.
 */
export async function missingGrants(policy: JsonObject, kinds: KindTable, post: ReviewPost, asked = new Map<string, Promise<boolean>>()): Promise<MissingGrant[]> {
  const { grants } = policyGrants(policy, kinds);
  const allowed = (g: Grant, verb: string, name: string): Promise<boolean> => {
    const [resource, subresource = ''] = g.resource.split('/');
    const key = JSON.stringify([g.group, g.resource, g.namespace ?? '', verb, name]);
    let answer = asked.get(key);
    if (!answer) {
      const { path, body } = accessReviewBody({ group: g.group, version: '', resource, subresource, namespace: g.namespace ?? '', name, verb }, undefined);
      // A review that fails says nothing about the permission: not reported as missing.
      answer = post(path, body).then((reply) => asObject(reply.status).allowed === true, () => true);
      asked.set(key, answer);
    }
    return answer;
  };
  // Every question is sent before any answer is awaited: a policy's admission waits only a few
  // seconds for these warnings, and reviews asked one after another would not all fit.
  const answered = grants.map((grant) => {
    const names = grant.resourceNames?.length ? grant.resourceNames : [''];
    return Promise.all(grant.verbs.map((verb) => Promise.all(names.map((name) => allowed(grant, verb, name)))));
  });
  const out: MissingGrant[] = [];
  (await Promise.all(answered)).forEach((perVerb, i) => {
    const grant = grants[i];
    const refused = grant.verbs.filter((_verb, v) => perVerb[v].some((a) => !a));
    if (refused.length) out.push({ grant, verbs: refused });
  });
  return out;
}

/** What a missing grant means and how to give it, in one line. */
export function missingGrantText({ grant, verbs }: MissingGrant): string {
  const resource = `${grant.resource}${grant.group ? `.${grant.group}` : ''}${grant.resourceNames?.length ? ` named ${grant.resourceNames.join(', ')}` : ''}`;
  const where = grant.namespace ? ` in ${grant.namespace}` : '';
  const who = grant.rule !== undefined ? `rule ${grant.rule}` : 'the policy';
  return `kyverno-studio: the webhook's service account cannot ${verbs.join(', ')} ${resource}${where}, which ${who} needs (${grant.why}); run \`kyverno-studio deploy\` again to widen its RBAC, or grant it with a ClusterRole labelled rbac.kyverno.io/aggregate-to-${grant.controller}=true`;
}

/** The warnings for a policy's admission answer: one per missing grant. */
export async function missingGrantWarnings(policy: JsonObject, kinds: KindTable, post: ReviewPost): Promise<string[]> {
  return (await missingGrants(policy, kinds, post)).map(missingGrantText);
}

export interface PolicyGrantCheckOptions {
  kinds: () => Promise<KindTable>;
  post: ReviewPost;
  log: (line: string) => void;
  events?: { add(events: EventInfo[]): void };
}

/**
 * The admission leader's check of the policies it loads: each policy once per generation (a
 * spec change), so a restart or a new leader says again what is still missing, and an unchanged
 * policy is not asked about at every watch event.
 */
export class PolicyGrantCheck {
  /** Per watched list (the Kyverno policies, the cleanup policies): each policy's generation last checked. */
  private readonly checked = new Map<string, Map<string, string>>();

  constructor(private readonly opts: PolicyGrantCheckOptions) {}

  /**
   * `policies` is the whole of the watched `list` as it is now, so a policy deleted from it is
   * forgotten (and, applied again, checked again).
   */
  check(policies: JsonObject[], list = 'policies'): Promise<void> {
    const before = this.checked.get(list);
    const now = new Map<string, string>();
    this.checked.set(list, now);
    const due = policies.filter((p) => {
      const meta = asObject(p.metadata);
      const key = String(meta.uid ?? policyRef(p));
      const generation = String(meta.generation ?? meta.resourceVersion ?? '');
      now.set(key, generation);
      return before?.get(key) !== generation;
    });
    if (!due.length) return Promise.resolve();
    return this.opts.kinds().then(async (kinds) => {
      // A leader's first pass checks every policy: most ask the same questions (their matched kinds).
      const asked = new Map<string, Promise<boolean>>();
      for (const policy of due) {
        const missing = await missingGrants(policy, kinds, this.opts.post, asked);
        if (!missing.length) continue;
        const meta = asObject(policy.metadata);
        const regarding = { apiVersion: String(policy.apiVersion), kind: String(policy.kind), name: String(meta.name), ...(meta.namespace ? { namespace: String(meta.namespace) } : {}), ...(meta.uid ? { uid: String(meta.uid) } : {}) };
        for (const m of missing) {
          const text = missingGrantText(m);
          this.opts.log(`${policyRef(policy)}: ${text}`);
          this.opts.events?.add([{ regarding, reason: 'PolicyError', action: 'None', source: 'kyverno-admission', message: text, type: 'Warning' }]);
        }
      }
    }).catch((e: Error) => this.opts.log(`policy permission check: ${e.message}`));
  }

  /** A new leader says again what is missing. */
  forget(): void {
    this.checked.clear();
  }
}
