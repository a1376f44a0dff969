/**
 * Field errors as the Pod Security library reports them with field errors enabled
 * (k8s.io/apimachinery field.Error): a type, the field path text, and the offending value.
 * Kyverno's exclusions parse the path text and compare bad values, and its failure
 * message prints them, so both keep Go's shapes.
 */
import type { Container, Pod } from './pod';

export type BadValue = string | boolean | number | string[];

export interface FieldError {
  type: 'Forbidden' | 'Required';
  /** Go's path text, e.g. `spec.containers[0].securityContext.privileged`. */
  field: string;
  /** The same path as keys and indexes, relative to the pod. */
  segments: Array<string | number>;
  /** `field.Forbidden`/`field.Required` start with the empty string. */
  badValue: BadValue;
}

export interface CheckResult {
  allowed: boolean;
  forbiddenReason?: string;
  forbiddenDetail?: string;
  errList?: FieldError[];
}

export const ALLOWED: CheckResult = { allowed: true };

export function fieldText(segments: Array<string | number>): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (s.startsWith('[')) out += s;
    else out += out ? `.${s}` : s;
  }
  return out;
}

export function forbidden(segments: Array<string | number>, badValue: BadValue = ''): FieldError {
  return { type: 'Forbidden', field: fieldText(segments), segments, badValue };
}

export function required(segments: Array<string | number>): FieldError {
  return { type: 'Required', field: fieldText(segments), segments, badValue: '' };
}

/** A map key step (field.Path.Key): printed `[key]`, without quotes. */
export function keyStep(key: string): string {
  return `[${key}]`;
}

export function pluralize(singular: string, plural: string, n: number): string {
  return n === 1 ? singular : plural;
}

/** Go's %q for the plain strings names and values are. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, '\\x7f').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function joinQuote(items: string[]): string {
  return items.map(goQuote).join(', ');
}

/** sets.NewString().List(): unique and sorted bytewise. */
export function sortedSet(items: Iterable<string>): string[] {
  return [...new Set(items)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export type ContainerVisitor = (c: Container, path: Array<string | number>) => void;

/** Init containers, then containers, then ephemeral containers, as the library visits them. */
export function visitContainers(pod: Pod, visit: ContainerVisitor): void {
  pod.initContainers.forEach((c, i) => visit(c, ['spec', 'initContainers', i]));
  pod.containers.forEach((c, i) => visit(c, ['spec', 'containers', i]));
  pod.ephemeralContainers.forEach((c, i) => visit(c, ['spec', 'ephemeralContainers', i]));
}

/** Violations: who violates (for the detail text) and the field errors gathered with them. */
export class Violations {
  readonly data: string[] = [];
  readonly errs: FieldError[] = [];

  add(who: string, ...errs: Array<FieldError | undefined>): void {
    this.data.push(who);
    for (const e of errs) if (e) this.errs.push(e);
  }

  get empty(): boolean {
    return this.data.length === 0;
  }

  get length(): number {
    return this.data.length;
  }
}

export function containersLabel(names: string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}

/** KEP-127: pods in a user namespace (`hostUsers: false`) get some restrictions relaxed. */
export function inUserNamespace(pod: Pod): boolean {
  return pod.hostUsers === false;
}
