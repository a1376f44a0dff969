/**
 * Which Kubernetes events a policy evaluation produces, as Kyverno's pkg/event and
 * pkg/webhooks/utils GenerateEvents decide it. Pure: the server processes build these next
 * to the answer; the primary writes them (events.ts).
 *
 * Admission (source `kyverno-admission`), per policy response with a named resource:
 * - a rule failed or errored: a PolicyViolation on the policy for each failed/errored rule
 *   ("Resource Blocked" when the request was denied), and, when not denied, a PolicyViolation
 *   on the resource for every rule of that policy;
 * - otherwise, when a rule was skipped by PolicyExceptions (and the request not denied):
 *   PolicySkipped on each exception and on the policy;
 * - otherwise: PolicyApplied on the policy (only written with `generateSuccessEvents`, off
 *   by default in Kyverno's configuration).
 * Background scans (source `kyverno-scan`): for each rule neither passed nor skipped, a
 * PolicyViolation on the resource and one on the policy; the exception events of skipped
 * rules. The background controller's events (generate, mutate existing) are built below.
 */
import type { JsonObject, PolicyResponse, RuleResult } from '../engine/core/types';
import { asObject } from '../engine/core/json';
import { isCelMutatingPolicyKind } from '../engine/loader/classify';

export type EventSource = 'kyverno-admission' | 'kyverno-scan' | 'kyverno-generate' | 'kyverno-mutate' | 'kyverno-cleanup';
export type EventReason = 'PolicyViolation' | 'PolicyApplied' | 'PolicyError' | 'PolicySkipped';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventInfo {
  regarding: ObjectReference;
  related?: ObjectReference;
  reason: EventReason;
  action: 'Resource Blocked' | 'Resource Passed' | 'Resource Generated' | 'Resource Mutated' | 'Resource Cleaned Up' | 'None';
  source: EventSource;
  message: string;
  /** Warning unless said otherwise (PolicyApplied and PolicySkipped are Normal). */
  type?: 'Normal' | 'Warning';
}

function describe(resource: ObjectReference): string {
  return resource.namespace ? `${resource.kind} ${resource.namespace}/${resource.name}` : `${resource.kind} ${resource.name}`;
}

/** Kyverno's buildPolicyEventMessage. */
function policyEventMessage(rule: RuleResult, resource: ObjectReference, blocked: boolean): string {
  let m = `${describe(resource)}: ${rule.name ? `[${rule.name}] ` : ''}${rule.status}`;
  if (blocked) m += ' (blocked)';
  if (rule.message) m += `; ${rule.message}`;
  return m;
}

/** The policy a response came from, with its UID when we have the object. */
function policyReference(response: PolicyResponse, policy: JsonObject | undefined): ObjectReference {
  const uid = asObject(policy?.metadata).uid;
  return {
    apiVersion: response.policy.apiVersion,
    kind: response.policy.kind,
    name: response.policy.name,
    ...(response.policy.namespace ? { namespace: response.policy.namespace } : {}),
    ...(typeof uid === 'string' ? { uid } : {}),
  };
}

export function resourceReference(resource: JsonObject): ObjectReference {
  const m = asObject(resource.metadata);
  const ref: ObjectReference = { apiVersion: String(resource.apiVersion ?? ''), kind: String(resource.kind ?? ''), name: String(m.name ?? '') };
  if (typeof m.namespace === 'string' && m.namespace) ref.namespace = m.namespace;
  if (typeof m.uid === 'string' && m.uid) ref.uid = m.uid;
  return ref;
}

const failed = (r: RuleResult) => r.status === 'fail' || r.status === 'error';

/** An event on the policy, related to the resource it evaluated. */
function onPolicy(response: PolicyResponse, policy: JsonObject | undefined, resource: ObjectReference, event: Omit<EventInfo, 'regarding' | 'related'>): EventInfo {
  return { regarding: policyReference(response, policy), related: resource, ...event };
}

function policyFailEvent(source: EventSource, response: PolicyResponse, policy: JsonObject | undefined, resource: ObjectReference, rule: RuleResult, blocked: boolean): EventInfo {
  const action = blocked ? 'Resource Blocked' : 'Resource Passed';
  return onPolicy(response, policy, resource, { reason: 'PolicyViolation', action, source, message: policyEventMessage(rule, resource, blocked) });
}

function resourceViolationEvent(source: EventSource, response: PolicyResponse, resource: ObjectReference, rule: RuleResult): EventInfo {
  return { regarding: resource, reason: 'PolicyViolation', action: 'Resource Passed', source, message: `policy ${response.policy.name}/${rule.name} ${rule.status}: ${rule.message}` };
}

/** Kyverno's NewPolicyAppliedEvent: "pass" for policies that validate, "mutated" for mutate-only ones. */
function policyAppliedEvent(source: EventSource, response: PolicyResponse, policy: JsonObject | undefined, resource: ObjectReference): EventInfo {
  const rules = Array.isArray(asObject(policy?.spec).rules) ? (asObject(policy?.spec).rules as JsonObject[]) : [];
  const classic = response.policy.kind === 'ClusterPolicy' || response.policy.kind === 'Policy';
  const validates = rules.some((r) => r.validate || r.verifyImages);
  const mutates = classic ? !validates && rules.some((r) => r.mutate) : isCelMutatingPolicyKind(response.policy.kind);
  const message = mutates ? `${describe(resource)} is successfully mutated` : `${describe(resource)}: pass`;
  return onPolicy(response, policy, resource, { reason: 'PolicyApplied', action: mutates ? 'Resource Mutated' : 'Resource Passed', source, message, type: 'Normal' });
}

/** Finds a PolicyException by the name a rule result gives (for its namespace and UID). */
export type ExceptionLookup = (name: string) => JsonObject | undefined;

/** Kyverno's resourceKey: Kind/namespace/name, or Kind/name. */
function resourceKey(resource: ObjectReference): string {
  return resource.namespace ? `${resource.kind}/${resource.namespace}/${resource.name}` : `${resource.kind}/${resource.name}`;
}

/**
 * Kyverno's NewPolicyExceptionEvents (ClusterPolicy and Policy only): a PolicySkipped on each
 * exception that let the resource through a rule, and one on the policy naming them all.
 */
export function policyExceptionEvents(source: EventSource, response: PolicyResponse, policy: JsonObject | undefined, resource: ObjectReference, rule: RuleResult, exceptionOf: ExceptionLookup): EventInfo[] {
  const kind = response.policy.kind;
  if (kind !== 'ClusterPolicy' && kind !== 'Policy') return [];
  const p = response.policy;
  const ruleKey = p.namespace ? `${p.namespace}/${p.name}/${rule.name}` : `${p.name}/${rule.name}`;
  const events: EventInfo[] = [];
  const names: string[] = [];
  for (const name of rule.exceptions ?? []) {
    const m = asObject(exceptionOf(name)?.metadata);
    const ns = typeof m.namespace === 'string' ? m.namespace : '';
    names.push(`${ns}/${name}`);
    events.push({
      regarding: { apiVersion: 'kyverno.io/v2', kind: 'PolicyException', name, ...(ns ? { namespace: ns } : {}), ...(typeof m.uid === 'string' ? { uid: m.uid } : {}) },
      related: resource,
      reason: 'PolicySkipped',
      action: 'Resource Passed',
      source,
      message: `resource ${resourceKey(resource)} was skipped from policy rule ${ruleKey}`,
    });
  }
  const uid = asObject(policy?.metadata).uid;
  events.push({
    regarding: { apiVersion: 'kyverno.io/v1', kind, name: p.name, ...(p.namespace ? { namespace: p.namespace } : {}), ...(typeof uid === 'string' ? { uid } : {}) },
    related: resource,
    reason: 'PolicySkipped',
    action: 'Resource Passed',
    source,
    message: `resource ${resourceKey(resource)} was skipped from rule ${rule.name} due to policy exceptions ${names.join(', ')}`,
  });
  return events;
}

const isException = (r: RuleResult) => r.status === 'skip' && (r.exceptions?.length ?? 0) > 0;

/**
 * Events for one admission review. `policies` finds each response's policy (for its UID);
 * `blocked`: the request was denied (then only the responses of enforcing policies count, as
 * Kyverno passes its enforce responses).
 */
export function admissionEvents(responses: PolicyResponse[], policyOf: (r: PolicyResponse) => JsonObject | undefined, resource: JsonObject, blocked: boolean, successEvents: boolean, exceptionOf: ExceptionLookup = () => undefined): EventInfo[] {
  const subject = resourceReference(resource);
  if (!subject.name) return [];
  const events: EventInfo[] = [];
  for (const response of responses) {
    if (response.rules.length === 0) continue;
    if (blocked && !response.rules.some((r) => r.failureAction === 'Enforce')) continue;
    const policy = policyOf(response);
    if (response.rules.some(failed)) {
      for (const rule of response.rules) {
        if (failed(rule)) events.push(policyFailEvent('kyverno-admission', response, policy, subject, rule, blocked));
        if (!blocked) events.push(resourceViolationEvent('kyverno-admission', response, subject, rule));
      }
    } else if (response.rules.some((r) => r.status === 'skip')) {
      if (!blocked) for (const rule of response.rules) if (isException(rule)) events.push(...policyExceptionEvents('kyverno-admission', response, policy, subject, rule, exceptionOf));
    } else if (successEvents) {
      events.push(policyAppliedEvent('kyverno-admission', response, policy, subject));
    }
  }
  return events;
}

/** Events for one background-scan evaluation (Kyverno's reports controller). */
export function scanEvents(responses: PolicyResponse[], policyOf: (r: PolicyResponse) => JsonObject | undefined, resource: JsonObject, successEvents: boolean, exceptionOf: ExceptionLookup = () => undefined): EventInfo[] {
  const subject = resourceReference(resource);
  const events: EventInfo[] = [];
  for (const response of responses) {
    const policy = policyOf(response);
    for (const rule of response.rules) {
      if (rule.status === 'pass' || rule.status === 'skip') continue;
      events.push(resourceViolationEvent('kyverno-scan', response, subject, rule));
      events.push(policyFailEvent('kyverno-scan', response, policy, subject, rule, false));
    }
    for (const rule of response.rules) if (isException(rule)) events.push(...policyExceptionEvents('kyverno-scan', response, policy, subject, rule, exceptionOf));
    if (successEvents && response.rules.length && !response.rules.some((r) => r.status === 'fail')) events.push(policyAppliedEvent('kyverno-scan', response, policy, subject));
  }
  return events;
}

/** A policy as Kyverno's background controller names it in events (NewKyvernoPolicy: apiVersion kyverno.io/v1). */
export function backgroundPolicyReference(policy: JsonObject): ObjectReference {
  const m = asObject(policy.metadata);
  const ref: ObjectReference = { apiVersion: 'kyverno.io/v1', kind: String(policy.kind ?? ''), name: String(m.name ?? '') };
  if (typeof m.namespace === 'string' && m.namespace) ref.namespace = m.namespace;
  if (typeof m.uid === 'string' && m.uid) ref.uid = m.uid;
  return ref;
}

type BackgroundSource = 'kyverno-generate' | 'kyverno-mutate';

/**
 * Kyverno's NewBackgroundSuccessEvent: per object generated or mutated, a PolicyApplied on
 * the policy related to that object ("resource generated" / "resource mutated").
 */
export function backgroundSuccessEvents(source: BackgroundSource, policy: JsonObject, resources: ObjectReference[]): EventInfo[] {
  const mutated = source === 'kyverno-mutate';
  return resources.map((related) => ({
    regarding: backgroundPolicyReference(policy),
    related,
    reason: 'PolicyApplied',
    action: mutated ? 'Resource Mutated' : 'Resource Generated',
    source,
    message: mutated ? 'resource mutated' : 'resource generated',
  }));
}

/**
 * Kyverno's NewValidatingAdmissionPolicyEvent: two PolicyApplied events on the policy (as it
 * was read), related to the ValidatingAdmissionPolicy and to its binding generated from it.
 */
export function admissionPolicyGeneratedEvents(policy: JsonObject, vapName: string, bindingName: string): EventInfo[] {
  const regarding = resourceReference(policy);
  const event = (kind: string, name: string, what: string): EventInfo => ({
    regarding,
    related: { apiVersion: 'admissionregistration.k8s.io/v1', kind, name },
    reason: 'PolicyApplied',
    action: 'Resource Generated',
    source: 'kyverno-generate',
    message: `successfully generated ${what} ${name} from policy ${regarding.name}`,
  });
  return [event('ValidatingAdmissionPolicy', vapName, 'validating admission policy'), event('ValidatingAdmissionPolicyBinding', bindingName, 'validating admission policy binding')];
}

/**
 * Kyverno's NewBackgroundFailedEvent: a PolicyError on the policy, related to the trigger (or
 * the mutate target) named by kind, namespace and name only, as Kyverno fills it.
 */
export function backgroundFailedEvent(source: BackgroundSource, policy: JsonObject, rule: string, resource: { kind: string; name: string; namespace?: string }, error: string): EventInfo {
  const name = String(asObject(policy.metadata).name ?? '');
  return {
    regarding: backgroundPolicyReference(policy),
    related: { apiVersion: '', kind: resource.kind, name: resource.name, ...(resource.namespace ? { namespace: resource.namespace } : {}) },
    reason: 'PolicyError',
    action: 'None',
    source,
    message: rule ? `policy ${name}/${rule} error: ${error}` : `policy ${name} error: ${error}`,
  };
}

/**
 * Kyverno's NewResourceGenerationEvent: a PolicyApplied on the generated object itself.
 * `policy` is the UpdateRequest's policy key ("name" or "namespace/name").
 */
export function resourceGenerationEvent(policy: string, rule: string, generated: ObjectReference): EventInfo {
  return {
    regarding: generated,
    reason: 'PolicyApplied',
    action: 'None',
    source: 'kyverno-generate',
    message: `Created ${generated.kind} ${generated.name} as a result of applying policy ${policy}/${rule}`,
  };
}

const INVALID = /[^a-z0-9.-]/g;

/** Kyverno's sanitizeEventName: RFC 1123 characters, alphanumeric at both ends. */
export function eventNamePrefix(name: string): string {
  let s = name.toLowerCase().replace(INVALID, '-');
  if (s && !/^[a-z0-9]/.test(s)) s = `a${s}`;
  if (s && !/[a-z0-9]$/.test(s)) s = `${s}z`;
  return s;
}

/** An ObjectReference as Go serialises it: empty fields left out (omitempty). */
function withoutEmpty(ref: ObjectReference): JsonObject {
  return Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== '' && v !== undefined)) as JsonObject;
}

/** The events.k8s.io/v1 Event Kyverno's event controller writes for `info`. */
export function eventObject(info: EventInfo, hostname: string, nowMs: number, microTime: (ms: number) => string): JsonObject {
  const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  const message = info.message.length > 1024 ? `${info.message.slice(0, 1021)}...` : info.message;
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: `${eventNamePrefix(info.regarding.name)}.${nanos.toString(16)}`, namespace: info.regarding.namespace || 'default' },
    eventTime: microTime(nowMs),
    reportingController: info.source,
    reportingInstance: `${info.source}-${hostname}`,
    action: info.action,
    reason: info.reason,
    regarding: withoutEmpty(info.regarding),
    ...(info.related ? { related: withoutEmpty(info.related) } : {}),
    note: message,
    type: info.type ?? (info.reason === 'PolicyApplied' || info.reason === 'PolicySkipped' ? 'Normal' : 'Warning'),
  };
}
