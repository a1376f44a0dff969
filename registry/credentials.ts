/**
 * Registry credentials as Kyverno's registry client finds them: image pull secrets of type
 * `kubernetes.io/dockerconfigjson` (or the older `kubernetes.io/dockercfg`), named by a
 * policy's `imageRegistryCredentials.secrets` (in Kyverno's namespace unless `ns/name`) and by
 * the Pod's `imagePullSecrets` (in the resource's namespace), then the local Docker config
 * (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`) for the CLI, as go-containerregistry's
 * DefaultKeychain. Matching follows the kubelet's keyring: the key's host (with `*` per
 * label) and path prefix against the image's registry and repository.
 */
import type { JsonObject } from '../engine/core/types';
import { asObject, isJsonObject } from '../engine/core/json';
import { base64Decode } from '../engine/jmespath/go-compat';

export interface RegistryCredential {
  username?: string;
  password?: string;
  /** A bearer token handed to the registry as is (`registrytoken`). */
  registryToken?: string;
  /** An OAuth2 refresh token exchanged at the token realm (`identitytoken`, a helper's `<token>` user). */
  identityToken?: string;
}

/** A docker credential helper (`docker-credential-<name> get`), run by the I/O layer that made it. */
export interface CredentialHelper {
  name: string;
  /** The credential for a server URL (the registry host, Docker Hub's `https://index.docker.io/v1/`); undefined when the helper has none. */
  get(serverUrl: string): Promise<RegistryCredential | undefined>;
}

export interface KeychainEntry {
  /** The docker config key as written (`https://index.docker.io/v1/`, `registry.example.com:5000/team`). */
  key: string;
  /** `*` per label; empty: every registry (a docker config's `credsStore`). */
  host: string;
  path: string;
  /** Exactly one of: a credential, a helper that gives one, or a provider that cannot. */
  credential?: RegistryCredential;
  helper?: CredentialHelper;
  /** A cloud credential provider (`imageRegistryCredentials.providers`) that cannot be asked offline: using the entry fails naming it. */
  provider?: string;
}

/** An ordered list of credentials; the first whose key matches an image is used. */
export interface Keychain {
  entries: KeychainEntry[];
}

export const KYVERNO_NAMESPACE = 'kyverno';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

function normalizeKey(key: string): { host: string; path: string } {
  let rest = key.replace(/^[a-z]+:\/\//i, '');
  rest = rest.replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  let host = slash < 0 ? rest : rest.slice(0, slash);
  let path = slash < 0 ? '' : rest.slice(slash + 1);
  // Docker Hub's legacy key names its API version, not a repository.
  if (DOCKER_HUB_HOSTS.has(host)) {
    host = 'index.docker.io';
    if (/^v[12]$/.test(path)) path = '';
  }
  return { host: host.toLowerCase(), path };
}

function hostMatches(pattern: string, host: string): boolean {
  const [pHost, pPort] = pattern.split(':');
  const [hHost, hPort] = host.split(':');
  if ((pPort ?? '') !== (hPort ?? '')) return false;
  const p = pHost.split('.');
  const h = hHost.split('.');
  if (p.length !== h.length) return false;
  return p.every((label, i) => label === h[i] || (label.includes('*') && new RegExp(`^${label.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`).test(h[i])));
}

/** The first keychain entry for an image's registry and repository, if any. */
export function keychainEntryFor(keychain: Keychain | undefined, registry: string, repository: string): KeychainEntry | undefined {
  if (!keychain) return undefined;
  const host = DOCKER_HUB_HOSTS.has(registry) ? 'index.docker.io' : registry.toLowerCase();
  for (const entry of keychain.entries) {
    if (entry.host !== '' && !hostMatches(entry.host, host)) continue;
    if (entry.path && repository !== entry.path && !repository.startsWith(`${entry.path}/`)) continue;
    return entry;
  }
  return undefined;
}

/** The static credential for an image's registry and repository, if any. */
export function credentialFor(keychain: Keychain | undefined, registry: string, repository: string): RegistryCredential | undefined {
  return keychainEntryFor(keychain, registry, repository)?.credential;
}

/** go-containerregistry's DefaultKeychain key: the registry host, Docker Hub's legacy URL for Docker Hub. */
export function helperServerUrl(registry: string): string {
  return DOCKER_HUB_HOSTS.has(registry) ? 'https://index.docker.io/v1/' : registry;
}

function credentialOf(value: unknown): RegistryCredential | undefined {
  const v = asObject(value);
  if (!v) return undefined;
  const out: RegistryCredential = {};
  if (typeof v.auth === 'string' && v.auth !== '') {
    try {
      const decoded = new TextDecoder().decode(base64Decode(v.auth));
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        out.username = decoded.slice(0, colon);
        out.password = decoded.slice(colon + 1);
      }
    } catch {
      // an unreadable auth field is ignored, as the kubelet does
    }
  }
  if (typeof v.username === 'string' && v.username !== '') out.username = v.username;
  if (typeof v.password === 'string' && v.password !== '') out.password = v.password;
  if (typeof v.registrytoken === 'string' && v.registrytoken !== '') out.registryToken = v.registrytoken;
  if (typeof v.identitytoken === 'string' && v.identitytoken !== '') out.identityToken = v.identitytoken;
  return out.username !== undefined || out.registryToken !== undefined || out.identityToken !== undefined ? out : undefined;
}

/**
 * The entries of a docker config (`{"auths": {...}}`) or of a legacy `.dockercfg` map. With a
 * `helper` factory (the local Docker config, not pull secrets) `credHelpers` and `credsStore`
 * count as docker's config file does: a host's own helper first, then the store, which
 * replaces the `auths` entries.
 */
export function keychainFromDockerConfig(config: unknown, helper?: (name: string) => CredentialHelper): Keychain {
  const doc = asObject(config);
  const auths = isJsonObject(doc?.auths) ? doc.auths : doc;
  const entries: KeychainEntry[] = [];
  if (helper) {
    for (const [key, name] of Object.entries(asObject(doc?.credHelpers) ?? {})) {
      if (typeof name === 'string' && name !== '') entries.push({ key, ...normalizeKey(key), helper: helper(name) });
    }
    if (typeof doc?.credsStore === 'string' && doc.credsStore !== '') {
      entries.push({ key: '', host: '', path: '', helper: helper(doc.credsStore) });
      return { entries };
    }
  }
  for (const [key, value] of Object.entries(auths ?? {})) {
    if (helper && (key === 'credHelpers' || key === 'credsStore')) continue;
    const credential = credentialOf(value);
    if (!credential) continue;
    entries.push({ key, ...normalizeKey(key), credential });
  }
  return { entries };
}

/** The keychain of one pull secret, or undefined when it is not a docker config secret. */
export function keychainFromSecret(secret: JsonObject): Keychain | undefined {
  const data = asObject(secret.data);
  const field = secret.type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
  const raw = data?.[field];
  if (typeof raw !== 'string') return undefined;
  try {
    return keychainFromDockerConfig(JSON.parse(new TextDecoder().decode(base64Decode(raw))));
  } catch {
    return undefined;
  }
}

/** Joins keychains, earlier ones first (go-containerregistry's MultiKeychain). */
export function joinKeychains(...chains: Array<Keychain | undefined>): Keychain {
  return { entries: chains.flatMap((c) => c?.entries ?? []) };
}

/** `ns/name` or a bare name in the default namespace (Kyverno's prefixSecretNamespaces). */
export function secretRef(ref: string, defaultNamespace: string): { namespace: string; name: string } {
  const trimmed = ref.replace(/^\//, '');
  const slash = trimmed.indexOf('/');
  return slash >= 0 ? { namespace: trimmed.slice(0, slash), name: trimmed.slice(slash + 1) } : { namespace: defaultNamespace, name: trimmed };
}

/** Looks secrets up by namespace and name among the given objects (the CLI's resources, the cluster's secrets). */
export function secretLookup(objects: readonly JsonObject[]): (namespace: string, name: string) => JsonObject | undefined {
  const byKey = new Map<string, JsonObject>();
  for (const o of objects) {
    if (o.kind !== 'Secret') continue;
    const meta = asObject(o.metadata);
    if (typeof meta?.name !== 'string') continue;
    byKey.set(`${typeof meta.namespace === 'string' ? meta.namespace : 'default'}/${meta.name}`, o);
  }
  return (namespace, name) => byKey.get(`${namespace}/${name}`);
}
