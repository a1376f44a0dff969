/**
 * Kyverno's credential providers (`imageRegistryCredentials.providers` of verifyImages,
 * `credentials.providers` of ImageValidatingPolicies; KeychainsForProviders in Kyverno's SDK):
 * - `default`: go-containerregistry's DefaultKeychain, the local Docker config with its
 *   credential helpers (the caller's `defaultKeychain`);
 * - `github`: ghcr.io and docker.pkg.github.com with `$GITHUB_ACTOR` (else `unset`) and
 *   `$GITHUB_TOKEN`, anonymous without a token, as go-containerregistry's github keychain;
 * - `amazon`, `azure`, `google`: ECR's credential helper, ACR's and Google's keychains get
 *   tokens from the cloud's credential chain (instance metadata, workload identity, CLIs).
 *   Kyverno Studio does not run those: an entry for the provider's registries makes a
 *   registry that asks for credentials fail with a message naming the provider.
 */
import type { Keychain, KeychainEntry } from './credentials';

export const CREDENTIAL_PROVIDERS = ['default', 'amazon', 'azure', 'google', 'github'] as const;

/** The registries each cloud provider's keychain answers for (others get anonymous access from it). */
const CLOUD_REGISTRIES: Record<string, { hosts: string[]; how: string }> = {
  amazon: { hosts: ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn', '*.dkr.ecr-fips.*.amazonaws.com'], how: "ECR's credential helper and the AWS credential chain" },
  azure: { hosts: ['*.azurecr.io', '*.azurecr.cn', '*.azurecr.de', '*.azurecr.us'], how: "ACR's token exchange with Azure's credential chain" },
  google: { hosts: ['gcr.io', '*.gcr.io', '*-docker.pkg.dev', '*.pkg.dev'], how: "Google's application default credentials or gcloud" },
};

const GITHUB_REGISTRIES = ['ghcr.io', 'docker.pkg.github.com'];

/** Why a provider entry cannot give a credential, for the registry error. */
export function providerUnavailable(provider: string, registry: string): string {
  const cloud = CLOUD_REGISTRIES[provider];
  const how = cloud ? cloud.how : 'its credential chain';
  return `registry ${registry} asks for credentials from the ${provider} credential provider (${how}), which Kyverno Studio cannot use offline; give them in a kubernetes.io/dockerconfigjson secret named in imageRegistryCredentials.secrets (credentials.secrets for ImageValidatingPolicies)`;
}

/** The keychain of the providers a policy names, in Kyverno's order (default, google, amazon, azure, github). */
export function keychainForProviders(providers: readonly string[], options: { defaultKeychain?: Keychain; env?: NodeJS.ProcessEnv } = {}): Keychain {
  const wanted = new Set(providers);
  const entries: KeychainEntry[] = [];
  if (wanted.has('default')) entries.push(...(options.defaultKeychain?.entries ?? []));
  for (const provider of ['google', 'amazon', 'azure']) {
    if (!wanted.has(provider)) continue;
    for (const host of CLOUD_REGISTRIES[provider].hosts) entries.push({ key: `${provider}:${host}`, host, path: '', provider });
  }
  const env = options.env ?? process.env;
  if (wanted.has('github') && env.GITHUB_TOKEN) {
    for (const host of GITHUB_REGISTRIES) entries.push({ key: `github:${host}`, host, path: '', credential: { username: env.GITHUB_ACTOR || 'unset', password: env.GITHUB_TOKEN } });
  }
  return { entries };
}
