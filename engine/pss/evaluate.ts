/**
 * The Pod Security Standards as Kyverno's podSecurity handler
 * (pkg/engine/handlers/validation/validate_pss.go) applies them: take the pod out of the
 * Pod/controller/CronJob, run the level's checks at the requested version, drop what the
 * rule's `exclude` (then a matching PolicyException's `podSecurity`) exempts, and report.
 */
import type { JsonObject } from '../core/types';
import { type PodLocation, UnsupportedKindError, locatePod, reportedField, resourcePath } from './controllers';
import { applyExclusions, controlNameOf, readExclusions } from './exclusions';
import type { BadValue } from './field';
import { exceptionSkipMessage, exceptionsSkipMessage, failMessage, passMessage } from './messages';
import { PodDecodeError } from './pod';
import { type CheckFailure, type LevelVersion, parseLevelVersion, runChecks } from './registry';
import { asObject } from '../core/json';
import { imageInfoString, tryGetImageInfo } from '../images/image-info';

export interface PodSecurityFieldReport {
  type: 'Forbidden' | 'Required';
  /** The field as Kyverno reports it (template-rewritten for controllers). */
  field: string;
  /** The field's location in the evaluated resource. */
  path: Array<string | number>;
  badValue: BadValue;
}

export interface PodSecurityCheckReport {
  /** Library check id, e.g. `allowPrivilegeEscalation`. */
  id: string;
  /** Pod Security Standards control, e.g. `Privilege Escalation`. */
  controlName: string;
  forbiddenReason: string;
  forbiddenDetail: string;
  fields: PodSecurityFieldReport[];
  /** Images of the containers the detail names (their names when unknown). */
  images: string[];
}

export interface PodSecurityEvaluation {
  status: 'pass' | 'fail' | 'error' | 'skip';
  message: string;
  /** Location of the first failed field in the resource, for editor diagnostics. */
  path?: Array<string | number>;
  /** Failed checks left after exclusions (empty on pass). */
  checks: PodSecurityCheckReport[];
  /** Names of the PolicyExceptions that turned the result into a skip. */
  exceptions?: string[];
}

export interface PodSecurityOptions {
  /** Rule name used in the messages. */
  ruleName?: string;
  /**
   * kyverno.io PolicyExceptions already matched to this policy, rule and request. If one
   * has no `spec.podSecurity` the rule is skipped; otherwise the controls they all list
   * are excluded from a failing result, which becomes a skip when nothing is left.
   */
  exceptions?: JsonObject[];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function exceptionKey(exception: JsonObject): string {
  const meta = asObject(exception.metadata);
  const ns = str(meta.namespace);
  return ns ? `${ns}/${str(meta.name)}` : str(meta.name);
}

const GO_SPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

/**
 * The first match group of Kyverno's `container(?:s)?\s*(.*?)\s*must` on a detail, found
 * by scanning (a backtracking regex is quadratic on long runs of spaces in names).
 */
function namedContainers(detail: string): string | undefined {
  for (let at = detail.indexOf('container'); at >= 0; at = detail.indexOf('container', at + 1)) {
    let start = at + 'container'.length;
    if (detail[start] === 's') start++;
    while (start < detail.length && GO_SPACE.has(detail[start])) start++;
    const must = detail.indexOf('must', start);
    if (must < 0) continue;
    let end = must;
    while (end > start && GO_SPACE.has(detail[end - 1])) end--;
    return detail.slice(start, end);
  }
  return undefined;
}

/** Kyverno's addImages: the containers named in the detail, as images. */
function imagesOf(detail: string, location: PodLocation): string[] {
  const names = namedContainers(detail);
  if (names === undefined) return [];
  const pod = location.pod;
  const all = [...pod.containers, ...pod.initContainers, ...pod.ephemeralContainers];
  return names
    .split('"').join('')
    .split(' ').join('')
    .split(',')
    .map((name) => {
      // Kyverno's getImageReference: the container's image as the context's ImageInfo prints it.
      const image = all.find((c) => c.name === name)?.image;
      if (!image) return name;
      const info = tryGetImageInfo(image);
      return info ? imageInfoString(info) : image;
    });
}

/** Kyverno's convertChecks: the reported fields name the template inside controllers. */
function reportChecks(failures: CheckFailure[], location: PodLocation): PodSecurityCheckReport[] {
  return failures.map((f) => ({
    id: f.id,
    controlName: controlNameOf(f.id),
    forbiddenReason: f.result.forbiddenReason ?? '',
    forbiddenDetail: f.result.forbiddenDetail ?? '',
    fields: (f.result.errList ?? []).map((e) => ({
      type: e.type,
      field: reportedField(e.field, location.kind),
      path: resourcePath(e, location),
      badValue: e.badValue,
    })),
    images: imagesOf(f.result.forbiddenDetail ?? '', location),
  }));
}

function firstPath(checks: PodSecurityCheckReport[]): Array<string | number> | undefined {
  for (const c of checks) if (c.fields.length > 0) return c.fields[0].path;
  return undefined;
}

function failure(message: string): PodSecurityEvaluation {
  return { status: 'error', message, checks: [] };
}

function exceptionName(exception: JsonObject): string {
  return str(asObject(exception.metadata).name);
}

/**
 * Evaluates a rule's `validate.podSecurity` ({level, version, exclude}) on the resource
 * Kyverno hands the handler: a Pod, a pod controller (DaemonSet, Deployment, Job,
 * StatefulSet, ReplicaSet, ReplicationController) or a CronJob. Any other kind, or a
 * field of the wrong type, is an error result, as in Kyverno.
 */
export function evaluatePodSecurity(
  podSecurity: unknown,
  resource: JsonObject,
  options: PodSecurityOptions = {},
): PodSecurityEvaluation {
  const ruleName = options.ruleName ?? '';
  const rule = asObject(podSecurity);
  const exceptions = options.exceptions ?? [];
  const full = exceptions.find((ex) => asObject(ex.spec).podSecurity === undefined);
  if (full) {
    return { status: 'skip', message: exceptionSkipMessage(exceptionKey(full)), checks: [], exceptions: [exceptionName(full)] };
  }

  let location: PodLocation;
  try {
    location = locatePod(resource);
  } catch (e) {
    if (e instanceof UnsupportedKindError || e instanceof PodDecodeError) {
      return failure(`Error while getting new resource: ${e.message}`);
    }
    throw e;
  }
  const level = str(rule.level);
  const version = str(rule.version);
  let levelVersion: LevelVersion;
  try {
    levelVersion = parseLevelVersion(level, version);
  } catch (e) {
    return failure(`failed to parse pod security api version: ${(e as Error).message}`);
  }

  let failures = runChecks(levelVersion, location.pod);
  const exclusions = readExclusions(rule.exclude);
  if (exclusions.length > 0) failures = applyExclusions(levelVersion, exclusions, failures, location.pod);
  if (failures.length === 0) return { status: 'pass', message: passMessage(ruleName), checks: [] };

  if (exceptions.length > 0) {
    // Every matched exception carries podSecurity here; their controls are excluded together.
    const excluded = exceptions.flatMap((ex) => readExclusions(asObject(ex.spec).podSecurity));
    failures = applyExclusions(levelVersion, excluded, failures, location.pod);
    if (failures.length === 0) {
      return {
        status: 'skip',
        message: exceptionsSkipMessage(exceptions.map(exceptionKey)),
        checks: [],
        exceptions: exceptions.map(exceptionName),
      };
    }
  }
  const checks = reportChecks(failures, location);
  const printable = checks.map((c) => ({
    forbiddenReason: c.forbiddenReason,
    errList: c.fields,
  }));
  return {
    status: 'fail',
    message: failMessage(ruleName, level, version, printable),
    path: firstPath(checks),
    checks,
  };
}
