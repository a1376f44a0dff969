/**
 * The engine's registry I/O layer: asynchronous reads of OCI registries done before
 * evaluation, handed to the pure, synchronous engine as an ImageRegistrySnapshot
 * (`ClusterState.imageRegistry`).
 */
export { RegistryClient, RegistryError, isLoopbackRegistry, parseChallenge, MANIFEST_ACCEPT, type Manifest, type RegistryClientOptions } from './client';
export { fetchImage, fetchImageMetadata, imagesToVerify, prefetchImageRegistry, type ImageNeeds, type PrefetchOptions } from './prefetch';
export { credentialFor, joinKeychains, keychainFromDockerConfig, keychainFromSecret, secretLookup, secretRef, type Keychain, type RegistryCredential } from './credentials';
export { dockerConfigKeychain } from './docker-config';
