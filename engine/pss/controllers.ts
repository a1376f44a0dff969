/**
 * Where the pod is in the resource a podSecurity rule sees. Kyverno's handler (getSpec)
 * takes the pod spec from a Pod, a pod controller's template or a CronJob's job template,
 * then rewrites the failed fields it reports (convertChecks) so they name the template.
 * Autogen keeps `podSecurity` as is on controller rules, so the same handler serves both.
 */
import type { JsonObject } from '../core/types';
import type { FieldError } from './field';
import { type Pod, decodePod } from './pod';

const TEMPLATE_KINDS = new Set(['DaemonSet', 'Deployment', 'Job', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);

export interface PodLocation {
  pod: Pod;
  kind: string;
  /** Where the pod's `spec` lives in the resource. */
  specPrefix: string[];
  /** Where the pod's `metadata` lives in the resource (CronJob: the job template's). */
  metadataPrefix: string[];
}

function obj(v: unknown): JsonObject | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

export class UnsupportedKindError extends Error {}

/** The pod inside `resource`; throws UnsupportedKindError or PodDecodeError. */
export function locatePod(resource: JsonObject): PodLocation {
  const kind = typeof resource.kind === 'string' ? resource.kind : '';
  if (kind === 'Pod') {
    return {
      pod: decodePod(resource.metadata, resource.spec, 'Pod', 'spec'),
      kind,
      specPrefix: ['spec'],
      metadataPrefix: ['metadata'],
    };
  }
  if (TEMPLATE_KINDS.has(kind)) {
    const template = obj(obj(resource.spec)?.template);
    return {
      pod: decodePod(template?.metadata, template?.spec, 'PodTemplateSpec', 'spec.template.spec', 'spec.template.metadata'),
      kind,
      specPrefix: ['spec', 'template', 'spec'],
      metadataPrefix: ['spec', 'template', 'metadata'],
    };
  }
  if (kind === 'CronJob') {
    const jobTemplate = obj(obj(resource.spec)?.jobTemplate);
    const template = obj(obj(jobTemplate?.spec)?.template);
    return {
      pod: decodePod(jobTemplate?.metadata, template?.spec, 'PodTemplateSpec', 'spec.jobTemplate.spec.template.spec', 'spec.jobTemplate.metadata'),
      kind,
      specPrefix: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
      metadataPrefix: ['spec', 'jobTemplate', 'metadata'],
    };
  }
  throw new UnsupportedKindError('could not find correct resource type');
}

/**
 * Kyverno's convertChecks on a reported field: every `spec` becomes the template's spec
 * for controllers and CronJobs, then every `metadata` becomes `spec.template.metadata`
 * (for every kind, Pods included). Plain substring replacement, as in Kyverno.
 */
export function reportedField(field: string, kind: string): string {
  let out = field;
  if (TEMPLATE_KINDS.has(kind)) out = out.split('spec').join('spec.template.spec');
  else if (kind === 'CronJob') out = out.split('spec').join('spec.jobTemplate.spec.template.spec');
  return out.split('metadata').join('spec.template.metadata');
}

/** The field error's location in the resource, for editors (map keys unwrapped). */
export function resourcePath(err: FieldError, location: PodLocation): Array<string | number> {
  const [head, ...rest] = err.segments;
  const prefix = head === 'metadata' ? location.metadataPrefix : location.specPrefix;
  return [...prefix, ...rest.map((s) => (typeof s === 'string' && s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s))];
}
