/**
 * What one policy needs of the webhook's service account beyond the fixed base role: read
 * access to what it matches, references (context configMap/apiCall entries, clone sources, CEL
 * resource.* calls with literal arguments) and reports on; write access to what its generate
 * rules produce; delete access to what its cleanup selects. A namespaced Policy's grants are in
 * its own namespace. Each grant says which rule asks for it, why, and which of Kyverno's
 * controllers does that work, so deploy (deploy/rbac.ts, which folds them into roles) and the
 * in-cluster server's check of a policy applied later (policy-grant-check.ts) can say so.
 */
import { asArray, asObject } from '../engine/core/json';
import { resolveKind, type KindTable } from '../engine/kube';
import { generatedKinds } from '../engine/generate/kinds';
import { cleanupPolicyKinds, isCleanupPolicy, isDeletingPolicy } from '../engine/cleanup';
import { webhookNeeds } from './rules';
import { apiCallPostPaths, celResourceCalls, globalContextEntryReads, hasVariable, policyReads, readOfApiPath, stringsOf } from './context-reads';
import { policiesReadRoles } from './user-roles';

type Json = Record<string, unknown>;

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];
const CLEANUP = ['list', 'watch', 'delete'];

/** Kyverno's controller whose work needs a grant: its aggregation label grants it by hand (deploy/rbac.ts). */
export type GrantController = 'admission-controller' | 'background-controller' | 'reports-controller' | 'cleanup-controller';

export interface Grant {
  group: string;
  resource: string;
  verbs: string[];
  /** Namespace of a Role; undefined: ClusterRole. */
  namespace?: string;
  resourceNames?: string[];
  /** "ClusterPolicy/name" (or "Policy/ns/name") that needs it. */
  reason: string;
  /** The rule that needs it (undefined: the policy as a whole, such as a CEL policy). */
  rule?: string;
  /** What the webhook does with it, in a few words. */
  why: string;
  controller: GrantController;
}

export function policyRef(policy: Json): string {
  const meta = asObject(policy.metadata);
  return meta.namespace ? `${String(policy.kind)}/${String(meta.namespace)}/${String(meta.name)}` : `${String(policy.kind)}/${String(meta.name)}`;
}

/** Namespaced policy kinds: their grants are Roles in their namespace. */
function policyNamespace(policy: Json): string | undefined {
  const ns = asObject(policy.metadata).namespace;
  return typeof ns === 'string' && ns && (policy.kind === 'Policy' || policy.kind === 'CleanupPolicy' || String(policy.kind).startsWith('Namespaced')) ? ns : undefined;
}

/** group/resource of an API path such as /api/v1/namespaces/x/configmaps or /apis/apps/v1/deployments. */
export function resourceOfPath(urlPath: string): { group: string; resource: string; namespace?: string } | undefined {
  const read = readOfApiPath(urlPath);
  return read && { group: read.group, resource: read.resource, namespace: read.namespace };
}

/** What one policy needs, beyond the fixed base role. */
export function policyGrants(policy: Json, kinds: KindTable): { grants: Grant[]; unknown: string[] } {
  const reason = policyRef(policy);
  const namespace = policyNamespace(policy);
  const grants: Grant[] = [];
  const unknown: string[] = [];
  type Purpose = Pick<Grant, 'why' | 'controller' | 'rule'>;
  const add = (group: string, resource: string, verbs: string[], purpose: Purpose, extra: Partial<Grant> = {}) => {
    // Reads of subresources (pods/exec, .../status) are never needed: the scan reads the parent.
    const base = resource.split('/')[0];
    grants.push({ group, resource: base, verbs, namespace, reason, ...purpose, ...extra });
  };
  const spec = asObject(policy.spec);
  const rules = asArray(spec.rules).map(asObject);
  // What the policy matches: admission needs no read, but the background scan, reports and
  // generate triggers list and get these kinds.
  // Webhook rules cross every group with every resource; RBAC gets only the pairs that exist.
  const served = new Set([...kinds.values()].flatMap((entries) => entries.map((e) => `${e.group}|${e.resource}`)));
  const exists = (group: string, resource: string) => group === '*' || resource.includes('*') || served.has(`${group}|${resource.split('/')[0]}`);
  // Rule by rule for classic policies, so each grant names the rule that matches the kind.
  const matched: Array<[Json, string | undefined]> = rules.length ? rules.map((r) => [{ ...policy, spec: { ...spec, rules: [r] } }, typeof r.name === 'string' ? r.name : undefined]) : [[policy, undefined]];
  for (const [one, rule] of matched) {
    for (const need of webhookNeeds([one], kinds, 'reads')) {
      for (const group of need.groups) for (const resource of need.resources) if (exists(group, resource)) add(group, resource, READ, { rule, why: 'to scan and report on what it matches', controller: 'reports-controller' });
      for (const k of need.unresolved) unknown.push(`${reason}: kind ${k} is not served by this cluster`);
    }
  }
  // Cleanup: the cleanup leader lists and deletes what cleanup and deleting policies select;
  // `watch` on the same kinds lets the ttl label work there too (Kyverno's ttl controller acts
  // on exactly the resources it may list, watch and delete), and nowhere else by default.
  const cleaning: Purpose = { why: 'to delete what it selects', controller: 'cleanup-controller' };
  if (isCleanupPolicy(policy)) {
    for (const k of cleanupPolicyKinds(policy)) {
      const resolved = resolveKind(k, kinds);
      if (!resolved?.length) unknown.push(`${reason}: kind ${k} is not served by this cluster`);
      for (const r of resolved ?? []) if (!r.resource.includes('/')) add(r.group, r.resource, CLEANUP, cleaning);
    }
  }
  // Generating policies: the background controller lists their triggers (generateExisting)
  // and the reports read them, as for the other CEL policies (whose reads come from webhookNeeds).
  if (/GeneratingPolicy$/.test(String(policy.kind)) && String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/')) {
    for (const rule of asArray(asObject(spec.matchConstraints).resourceRules).map(asObject)) {
      for (const group of asArray(rule.apiGroups).map(String)) {
        for (const resource of asArray(rule.resources).map(String)) if (exists(group, resource)) add(group, resource, READ, { why: 'to list its triggers', controller: 'background-controller' });
      }
    }
  }
  if (isDeletingPolicy(policy)) {
    for (const rule of asArray(asObject(spec.matchConstraints).resourceRules).map(asObject)) {
      for (const group of asArray(rule.apiGroups).map(String)) {
        for (const resource of asArray(rule.resources).map(String)) if (!resource.includes('/') && exists(group, resource)) add(group, resource, CLEANUP, cleaning);
      }
    }
  }
  for (const rule of rules) {
    const name = typeof rule.name === 'string' ? rule.name : undefined;
    // Clone sources are read; generated kinds are written (and read to synchronize).
    for (const kind of generatedKinds([{ ...policy, spec: { rules: [rule] } }])) {
      const resolved = resolveKind(kind, kinds);
      if (!resolved?.length) unknown.push(`${reason}: generated kind ${kind} is not served by this cluster`);
      const generating: Purpose = { rule: name, why: `to generate and synchronize ${kind}`, controller: 'background-controller' };
      for (const r of resolved ?? []) {
        add(r.group, r.resource, [...READ, ...WRITE], generating);
        // A generated subresource (`Policy/status`): the policy admission check asks about that
        // subresource (Kyverno's generate canIGenerate), which RBAC names apart.
        if (r.resource.includes('/')) grants.push({ group: r.group, resource: r.resource, verbs: [...READ, ...WRITE], namespace, reason, ...generating });
      }
    }
    // Mutate existing: the targets are read and updated (webhook/mutate-existing.ts).
    for (const t of asArray(asObject(rule.mutate).targets).map(asObject)) {
      const apiVersion = String(t.apiVersion ?? '');
      const [kind, subresource] = String(t.kind ?? '').split('/');
      if (!kind || hasVariable(kind) || hasVariable(apiVersion)) {
        unknown.push(`${reason}: a mutate target names its kind with a variable; grant its read and update yourself`);
        continue;
      }
      const resolved = resolveKind(apiVersion ? `${apiVersion}/${kind}` : kind, kinds);
      if (!resolved?.length) unknown.push(`${reason}: mutate target kind ${kind} is not served by this cluster`);
      const mutating: Purpose = { rule: name, why: `to mutate existing ${kind}`, controller: 'background-controller' };
      for (const r of resolved ?? []) {
        add(r.group, r.resource, [...READ, 'update'], mutating);
        // A subresource target (`Node/status`) is written through that subresource, which RBAC names apart.
        if (subresource) grants.push({ group: r.group, resource: `${r.resource}/${subresource}`, verbs: ['get', 'update'], namespace, reason, ...mutating });
      }
    }
  }
  // What evaluation reads (context entries at every foreach level, CEL resource.*): the in-cluster
  // webhook lists and watches exactly these (webhook/live-context.ts), a named object through a
  // metadata.name field selector, which RBAC authorizes by resourceNames.
  const reading: Purpose = { why: 'to read what its context and expressions reference', controller: 'admission-controller' };
  const reads = policyReads(policy);
  for (const r of reads.reads) add(r.group, r.resource, READ, reading, r.name ? { resourceNames: [r.name] } : {});
  const posting: Purpose = { why: 'to make its apiCall POSTs', controller: 'admission-controller' };
  for (const text of celResourceCalls(stringsOf(spec))) if (text.verb === 'Post') add(text.group, text.resource, ['create'], posting);
  // apiCall POSTs (a SubjectAccessReview...) create what they post to.
  for (const path of apiCallPostPaths(policy)) {
    const target = resourceOfPath(path);
    if (target) add(target.group, target.resource, ['create'], posting);
    else unknown.push(`${reason}: apiCall POST ${path} names its resource with a variable; grant its create yourself`);
  }
  for (const u of reads.unresolved) unknown.push(`${reason}: ${u}; grant its read yourself`);
  if (reads.globalContext) add('kyverno.io', 'globalcontextentries', READ, { why: 'to read the global context entries it names', controller: 'admission-controller' });
  // The user's roles (match/exclude roles and clusterRoles, request.roles) come from the bindings.
  if (policiesReadRoles([policy])) for (const resource of ['rolebindings', 'clusterrolebindings']) add('rbac.authorization.k8s.io', resource, READ, { why: "to find the requesting user's roles", controller: 'admission-controller' });
  // A GlobalContextEntry deployed beside the policies: its kubernetesResource or apiCall GET is
  // listed and watched, when the cluster serves it (as for matched kinds: no grant ahead of a
  // resource, and the API server then refuses the read, as Kyverno's fixed RBAC would).
  if (policy.kind === 'GlobalContextEntry') {
    for (const r of globalContextEntryReads(policy)) {
      if (exists(r.group, r.resource)) add(r.group, r.resource, READ, { why: 'to keep its data', controller: 'admission-controller' });
      else unknown.push(`${reason}: reads ${r.resource}${r.group ? `.${r.group}` : ''}, which this cluster does not serve`);
    }
  }
  return { grants, unknown };
}
