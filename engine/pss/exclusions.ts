/**
 * Kyverno's podSecurity exclusions (rule `exclude` and PolicyException `podSecurity`):
 * the checks are re-run on the part of the pod an exclusion names (the pod without its
 * containers, or only the containers whose image matches), and each field error found
 * there that matches `restrictedField`/`values` removes one equal field error from the
 * pod's results, as pkg/pss ApplyPodSecurityExclusion does.
 */
import type { JsonObject } from '../core/types';
import { wildcardMatch } from '../wildcard/wildcard';
import type { FieldError } from './field';
import type { Container, Pod } from './pod';
import { type CheckFailure, type LevelVersion, runChecks } from './registry';

/** Control names (the Pod Security Standards table) to the library's check ids. */
export const CONTROL_CHECK_IDS: Readonly<Record<string, readonly string[]>> = {
  Capabilities: ['capabilities_baseline', 'capabilities_restricted'],
  Seccomp: ['seccompProfile_baseline', 'seccompProfile_restricted'],
  'Privileged Containers': ['privileged'],
  'Host Ports': ['hostPorts'],
  '/proc Mount Type': ['procMount', 'procMount_restricted'],
  HostProcess: ['windowsHostProcess'],
  SELinux: ['seLinuxOptions'],
  'Host Namespaces': ['hostNamespaces'],
  'HostPath Volumes': ['hostPathVolumes'],
  Sysctls: ['sysctls'],
  AppArmor: ['appArmorProfile'],
  'Host Probes / Lifecycle Hooks': ['hostProbesAndHostLifecycle'],
  'Privilege Escalation': ['allowPrivilegeEscalation'],
  'Running as Non-root': ['runAsNonRoot'],
  'Running as Non-root user': ['runAsUser'],
  'Volume Types': ['restrictedVolumes'],
};

/** The control name of a check id (empty when unknown). */
export function controlNameOf(checkId: string): string {
  for (const [name, ids] of Object.entries(CONTROL_CHECK_IDS)) if (ids.includes(checkId)) return name;
  return '';
}

export interface PodSecurityExclusion {
  controlName: string;
  images: string[];
  restrictedField: string;
  values: string[];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** Reads `exclude` entries as Kyverno's PodSecurityStandard (missing fields are empty). */
export function readExclusions(raw: unknown): PodSecurityExclusion[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((e) => {
    const o = (e && typeof e === 'object' && !Array.isArray(e) ? e : {}) as JsonObject;
    return {
      controlName: typeof o.controlName === 'string' ? o.controlName : '',
      images: strings(o.images),
      restrictedField: typeof o.restrictedField === 'string' ? o.restrictedField : '',
      values: strings(o.values),
    };
  });
}

function anyPattern(patterns: string[], value: string): boolean {
  return patterns.some((p) => wildcardMatch(p, value));
}

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

interface ParsedField {
  field: string;
  index: number;
  containerType: string;
  containerLevel: boolean;
}

/** Kyverno's parseField: indexes become `*`; the second word names the container list. */
function parseField(text: string): ParsedField {
  const indexes = text.match(/\d+/g) ?? [];
  const words = text.match(/[a-zA-Z]+/g) ?? [];
  const containerType = words[1] ?? '';
  return {
    field: text.replace(/\d+/g, '*'),
    index: indexes.length > 0 ? Number(indexes[0]) : 0,
    containerType,
    containerLevel: CONTAINER_LISTS.has(containerType),
  };
}

function containerAt(pod: Pod, type: string, index: number): Container | undefined {
  if (type === 'containers') return pod.containers[index];
  if (type === 'initContainers') return pod.initContainers[index];
  if (type === 'ephemeralContainers') return pod.ephemeralContainers[index];
  return undefined;
}

/** Kyverno's extractBadValues: strings (non-empty), booleans, integers and string lists. */
function badValuesOf(err: FieldError): string[] {
  const v = err.badValue;
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (typeof v === 'boolean') return [String(v)];
  if (typeof v === 'number') return [String(v)];
  return [...v];
}

function emptyContainer(name: string): Container {
  return { name, image: '', hostPorts: [], probes: [], lifecycle: [] };
}

/**
 * Kyverno's GetPodWithMatchingContainers: without images, the pod with a single empty
 * container (pod-level exclusion); with images, an otherwise empty pod holding only the
 * containers whose image matches.
 */
function exclusionTarget(exclusion: PodSecurityExclusion, pod: Pod): { target: Pod; containerLevel: boolean } {
  if (exclusion.images.length === 0) {
    return {
      target: { ...pod, containers: [emptyContainer('fake')], initContainers: [], ephemeralContainers: [] },
      containerLevel: false,
    };
  }
  const matches = (c: Container): boolean => anyPattern(exclusion.images, c.image);
  return {
    target: {
      name: pod.name,
      namespace: pod.namespace,
      annotations: {},
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      osName: '',
      volumes: [],
      initContainers: pod.initContainers.filter(matches),
      containers: pod.containers.filter(matches),
      ephemeralContainers: pod.ephemeralContainers.filter(matches),
    },
    containerLevel: true,
  };
}

function swapRemove<T>(list: T[], i: number): void {
  list[i] = list[list.length - 1];
  list.length -= 1;
}

function exempt(
  failures: CheckFailure[],
  excluded: CheckFailure[],
  exclusion: PodSecurityExclusion,
  pod: Pod,
  target: Pod,
  containerLevel: boolean,
): CheckFailure[] {
  const byId = new Map<string, CheckFailure>();
  for (const f of failures) byId.set(f.id, f);
  const ids = CONTROL_CHECK_IDS[exclusion.controlName] ?? [];
  // Parsed once per error: large pods compare every excluded error with every pod error.
  const parsed = new Map<FieldError, ParsedField>();
  const parse = (err: FieldError): ParsedField => {
    let p = parsed.get(err);
    if (!p) {
      p = containerLevel ? parseField(err.field) : { field: err.field.replace(/\d+/g, '*'), index: 0, containerType: '', containerLevel: false };
      parsed.set(err, p);
    }
    return p;
  };

  for (const ex of excluded) {
    for (const checkId of ids) {
      if (ex.id !== checkId || !ex.result.errList) continue;
      for (const exErr of ex.result.errList) {
        const exField = parse(exErr);
        const exContainer = exField.containerLevel ? containerAt(target, exField.containerType, exField.index) : undefined;
        if (exclusion.restrictedField !== '' && exField.field !== exclusion.restrictedField) continue;
        if (exclusion.values.length > 0 && !badValuesOf(exErr).every((bv) => anyPattern(exclusion.values, bv))) continue;
        const current = byId.get(checkId);
        const errs = current?.result.errList;
        if (!current || !errs) continue;
        for (let i = 0; i < errs.length; i++) {
          const dfField = parse(errs[i]);
          if (exField.field !== dfField.field) continue;
          if (dfField.containerLevel) {
            const dfContainer = containerAt(pod, dfField.containerType, dfField.index);
            if ((exContainer?.name ?? '') !== (dfContainer?.name ?? '')) continue;
          }
          swapRemove(errs, i);
          break;
        }
        if (errs.length === 0) byId.delete(checkId);
      }
    }
  }
  return [...byId.values()];
}

/** Applies exclusions in order to the pod's failed checks (whose error lists it edits). */
export function applyExclusions(
  version: LevelVersion,
  exclusions: PodSecurityExclusion[],
  failures: CheckFailure[],
  pod: Pod,
): CheckFailure[] {
  let remaining = failures;
  for (const exclusion of exclusions) {
    const { target, containerLevel } = exclusionTarget(exclusion, pod);
    remaining = exempt(remaining, runChecks(version, target), exclusion, pod, target, containerLevel);
  }
  return remaining;
}
