/**
 * The engine's registry I/O layer: asynchronous reads of OCI registries done before
 * evaluation, handed to the pure, synchronous engine as an ImageRegistrySnapshot
 * (`ClusterState.imageRegistry`).
 */
export { RegistryClient, RegistryError, isLoopbackRegistry, parseChallenge, MANIFEST_ACCEPT, type Manifest, type RegistryClientOptions } from './client';
export { fetchImage, fetchImageMetadata, imagesToVerify, prefetchImageRegistry, registrySecretRefs, type ImageNeeds, type PrefetchOptions } from './prefetch';
export { credentialFor, joinKeychains, keychainEntryFor, keychainFromDockerConfig, keychainFromSecret, secretLookup, secretRef, type CredentialHelper, type Keychain, type RegistryCredential } from './credentials';
export { credentialHelper, dockerConfigKeychain, runHelperProcess, type HelperRunner } from './docker-config';
export { CREDENTIAL_PROVIDERS, keychainForProviders } from './providers';
