/**
 * The `images` variable: every container image of a Pod, a pod controller or a CronJob,
 * each read by Kyverno's GetImageInfo (engine/images/image-info.ts).
 */
import type { JsonObject } from '../core/types';
import { tryGetImageInfo, type ImageInfo } from '../images/image-info';
import { engineConfiguration } from '../core/configuration';

export type { ImageInfo } from '../images/image-info';

const POD_CONTROLLERS = new Set(['Deployment', 'DaemonSet', 'Job', 'StatefulSet', 'ReplicationController', 'ReplicaSet']);
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

// Every request's scope lists its images; a reference parses the same way every time.
// Results are only spread into the scope, never changed. Bounded: dropped when full.
const MAX_REMEMBERED = 4096;
const parsedImages = new Map<string, Omit<ImageInfo, 'jsonPointer'> | null>();
/** The configuration the remembered readings were made under (its registry settings change them). */
let parsedUnder = engineConfiguration();

function parsedImage(image: string): Omit<ImageInfo, 'jsonPointer'> | null {
  if (parsedUnder !== engineConfiguration()) {
    parsedImages.clear();
    parsedUnder = engineConfiguration();
  }
  let info = parsedImages.get(image);
  if (info !== undefined) return info;
  if (parsedImages.size >= MAX_REMEMBERED) parsedImages.clear();
  info = tryGetImageInfo(image);
  parsedImages.set(image, info);
  return info;
}

function podSpecPath(kind: string): string[] | null {
  if (kind === 'Pod') return ['spec'];
  if (POD_CONTROLLERS.has(kind)) return ['spec', 'template', 'spec'];
  if (kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template', 'spec'];
  return null;
}

/** The pod spec holding a resource's container lists (null when the kind has none). */
function podSpecOf(resource: JsonObject | null | undefined): { spec: JsonObject; path: string[] } | null {
  if (!resource) return null;
  const path = podSpecPath(String(resource.kind ?? ''));
  if (!path) return null;
  let spec: unknown = resource;
  for (const p of path) spec = spec && typeof spec === 'object' ? (spec as JsonObject)[p] : undefined;
  if (!spec || typeof spec !== 'object') return null;
  return { spec: spec as JsonObject, path };
}

/** Whether extractImages would list at least one image (without building the listing). */
export function hasImages(resource: JsonObject | null | undefined): boolean {
  const found = podSpecOf(resource);
  if (!found) return false;
  for (const list of CONTAINER_LISTS) {
    const containers = found.spec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) {
      const container = c as JsonObject | null;
      if (container && typeof container.image === 'string' && parsedImage(container.image)) return true;
    }
  }
  return false;
}

/** `{ containers: { <name>: info }, initContainers: ..., ephemeralContainers: ... }`, groups without images left out. */
export function extractImages(resource: JsonObject | null | undefined): Record<string, Record<string, ImageInfo>> {
  const out: Record<string, Record<string, ImageInfo>> = {};
  const found = podSpecOf(resource);
  if (!found) return out;
  const { spec, path } = found;
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    const group: Record<string, ImageInfo> = {};
    containers.forEach((c, i) => {
      const container = c as JsonObject | null;
      if (!container || typeof container.image !== 'string') return;
      const info = parsedImage(container.image);
      if (!info) return;
      group[String(container.name ?? '')] = { ...info, jsonPointer: '/' + [...path, list, String(i), 'image'].join('/') };
    });
    if (Object.keys(group).length > 0) out[list] = group;
  }
  return out;
}

/**
 * Images found by a rule's `imageExtractors` (Kyverno's lookupImageExtractor and extract in
 * pkg/utils/api/image.go) for the resource's kind: each extractor's `path` walked field by
 * field (`*` for every element or value), the image read from `value` (the path's last
 * field by default), keyed by `key`'s field or the JSON pointer, passed through `jmesPath`.
 * Kinds without an extractor keep the standard container lists. An extraction error (a
 * path through a non-object, a jmesPath giving no string, an invalid image) yields no images,
 * as Kyverno then checks none.
 */
export function extractImagesWith(resource: JsonObject | null | undefined, configs: unknown, search: (expression: string, value: string) => unknown): Record<string, Record<string, ImageInfo>> {
  const kind = typeof resource?.kind === 'string' ? resource.kind : '';
  const extractors = configs && typeof configs === 'object' && !Array.isArray(configs) ? (configs as JsonObject)[kind] : undefined;
  if (!resource || !Array.isArray(extractors)) return extractImages(resource);
  const out: Record<string, Record<string, ImageInfo>> = {};
  try {
    for (const raw of extractors) {
      const c = (raw && typeof raw === 'object' ? raw : {}) as JsonObject;
      let fields = String(c.path ?? '').split('/').map((f) => f.trim()).filter((f) => f !== '');
      let value = typeof c.value === 'string' ? c.value : '';
      if (value === '') {
        value = fields[fields.length - 1] ?? '';
        fields = fields.slice(0, -1);
      }
      const key = typeof c.key === 'string' ? c.key : '';
      const jmesPath = typeof c.jmesPath === 'string' ? c.jmesPath : '';
      const group: Record<string, ImageInfo> = {};
      const walk = (obj: unknown, path: string[], rest: string[]): void => {
        if (obj === null || obj === undefined) return;
        if (rest[0] === '*') {
          if (Array.isArray(obj)) obj.forEach((v, i) => walk(v, [...path, String(i)], rest.slice(1)));
          else if (typeof obj === 'object') for (const [k, v] of Object.entries(obj)) walk(v, [...path, k], rest.slice(1));
          else throw new Error('invalid type');
          return;
        }
        if (typeof obj !== 'object' || Array.isArray(obj)) throw new Error('invalid image config');
        const node = obj as JsonObject;
        if (rest.length > 0) {
          walk(node[rest[0]], [...path, rest[0]], rest.slice(1));
          return;
        }
        const pointer = `/${path.join('/')}/${value}`;
        let name = pointer;
        if (key !== '') {
          if (typeof node[key] !== 'string') throw new Error('invalid key');
          name = node[key] as string;
        }
        let image = node[value];
        if (typeof image !== 'string' || image.trim() === '') return;
        if (jmesPath !== '') {
          image = search(jmesPath, image);
          if (typeof image !== 'string') throw new Error(`jmespath ${jmesPath} must produce a string`);
        }
        const info = tryGetImageInfo(image as string);
        if (!info) throw new Error(`invalid image '${String(image)}'`);
        group[name] = { ...info, jsonPointer: pointer };
      };
      walk(resource, [], fields);
      if (Object.keys(group).length > 0) out[typeof c.name === 'string' && c.name !== '' ? c.name : 'custom'] = group;
    }
  } catch {
    return {};
  }
  return out;
}
