/**
 * Kyverno's `kyverno.image` and `kyverno.imagedata` CEL libraries
 * (sdk/extensions/cel/libs/image, sdk/extensions/cel/libs/imagedata).
 *
 * Image references are parsed as go-containerregistry's `name.ParseReference` does
 * (engine/images/parse-reference.ts). Image metadata is answered offline
 * from the image data a `kyverno test` Context file supplies (spec.images), looked up by the
 * exact image string, as Kyverno's CLI FakeContextProvider does.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ClusterState, JsonObject } from '../core/types';
import { asDocument } from './lib-data';
import { ImageRef, parseReference } from '../images/parse-reference';

function isImage(ref: string): boolean {
  try {
    parseReference(ref);
    return true;
  } catch {
    return false;
  }
}

/** What `image.GetMetadata` reads: the image data of the test's Context (spec.images). */
export interface ImageDataSource {
  cluster: ClusterState;
}

/** The `image` variable of the imagedata library (Kyverno's imagedata.Context). */
export class ImageDataLib {
  constructor(readonly source: ImageDataSource) {}
}

/**
 * With registry access (the snapshot read before evaluation), the image data the registry
 * gave, as the imagedataloader's ImageDescriptor (its index under `imageIndex`).
 */
function registryImageData(cluster: ClusterState, ref: string): JsonObject | undefined {
  const found = cluster.imageRegistry?.metadata?.[ref];
  if (!found) return undefined;
  if ('error' in found) throw new Error(`failed to get image data: ${found.error}`);
  return { ...found, imageIndex: found.manifestList ?? null } as unknown as JsonObject;
}

/**
 * The CLI's FakeContextProvider.GetImageData: the Context entry whose `image` is exactly the
 * requested string, JSON-encoded from the CLI's ImageData type (image, resolvedImage,
 * registry and repository always present; tag, digest, imageIndex, manifest, config when set).
 */
function imageMetadata(source: ImageDataSource, ref: string): unknown {
  const images = (source.cluster as ClusterState & { images?: JsonObject[] }).images ?? [];
  const entry = images.find((i) => i.image === ref) ?? registryImageData(source.cluster, ref);
  if (!entry) throw new Error(`failed to get image data: image data for ${ref} not found in the context`);
  const data: JsonObject = {
    image: String(entry.image ?? ''),
    resolvedImage: String(entry.resolvedImage ?? ''),
    registry: String(entry.registry ?? ''),
    repository: String(entry.repository ?? ''),
  };
  for (const key of ['tag', 'digest'] as const) if (typeof entry[key] === 'string' && entry[key] !== '') data[key] = entry[key];
  for (const key of ['imageIndex', 'manifest', 'config'] as const) if (entry[key] !== undefined && entry[key] !== null) data[key] = entry[key];
  // Kyverno's CLI round-trips the entry through encoding/json: numbers come back as doubles.
  return asDocument(data);
}

/** Image data for a reference as CEL sees it (ImageValidatingPolicies' getImageData reads the same). */
export function imageDataOf(cluster: ClusterState, ref: string): unknown {
  return imageMetadata({ cluster }, ref);
}

/**
 * `imageData`: Kyverno's own part (the `image` imagedata variable, parseImageReference); without
 * it, what Kubernetes' image library (k8s.io/apiserver pkg/cel/library/image.go) declares:
 * image(), isImage() and the reference's parts.
 */
export function registerImageLibraries(env: Environment, { imageData }: { imageData: boolean } = { imageData: true }): void {
  env.registerType('kyverno.image', ImageRef);
  if (imageData) {
    env
      .registerType('imagedata.Context', ImageDataLib)
      .registerVariable('image', 'imagedata.Context')
      .registerFunction('parseImageReference(string): kyverno.image', (s: string) => parseReference(s))
      .registerFunction('imagedata.Context.GetMetadata(string): dyn', (l: ImageDataLib, ref: string) => imageMetadata(l.source, ref))
      .registerFunction('imagedata.Context.getMetadata(string): dyn', (l: ImageDataLib, ref: string) => imageMetadata(l.source, ref));
  }
  env
    // image() is the deprecated alias Kyverno keeps for parseImageReference().
    .registerFunction('image(string): kyverno.image', (s: string) => parseReference(s))
    .registerFunction('isImage(string): bool', (s: string) => isImage(s))
    .registerFunction('kyverno.image.containsDigest(): bool', (i: ImageRef) => i.kind === 'digest' && i.digest !== '')
    .registerFunction('kyverno.image.registry(): string', (i: ImageRef) => i.registry)
    .registerFunction('kyverno.image.repository(): string', (i: ImageRef) => i.repository)
    .registerFunction('kyverno.image.identifier(): string', (i: ImageRef) => i.identifier)
    .registerFunction('kyverno.image.tag(): string', (i: ImageRef) => i.tag)
    .registerFunction('kyverno.image.digest(): string', (i: ImageRef) => i.digest)
    // reflect.DeepEqual of two references: same kind, same parts, same original text.
    .registerOperator('kyverno.image == kyverno.image', (a: ImageRef, b: ImageRef) => a.kind === b.kind && a.original === b.original);
}
