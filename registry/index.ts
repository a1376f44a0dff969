/**
 * The engine's registry I/O layer: asynchronous reads of OCI registries done before
 * evaluation, handed to the pure, synchronous engine as an ImageRegistrySnapshot
 * (`ClusterState.imageRegistry`).
 */
export { RegistryClient, RegistryError, isLoopbackRegistry, MANIFEST_ACCEPT, type Manifest, type RegistryClientOptions } from './client';
export { fetchImage, imagesToVerify, prefetchImageRegistry } from './prefetch';
