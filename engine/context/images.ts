/**
 * The `images` variable: every container image of a Pod, a pod controller or a CronJob,
 * each read by Kyverno's GetImageInfo (engine/images/image-info.ts).
 */
import type { JsonObject } from '../core/types';
import { tryGetImageInfo, type ImageInfo } from '../images/image-info';

export type { ImageInfo } from '../images/image-info';

const POD_CONTROLLERS = new Set(['Deployment', 'DaemonSet', 'Job', 'StatefulSet', 'ReplicationController', 'ReplicaSet']);
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

// Every request's scope lists its images; a reference parses the same way every time.
// Results are only spread into the scope, never changed. Bounded: dropped when full.
const MAX_REMEMBERED = 4096;
const parsedImages = new Map<string, Omit<ImageInfo, 'jsonPointer'> | null>();

function parsedImage(image: string): Omit<ImageInfo, 'jsonPointer'> | null {
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
