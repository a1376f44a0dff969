/**
 * A small OCI distribution client (the registry HTTP API v2) for the engine's I/O layer:
 * manifests by tag or digest, blobs and the OCI 1.1 referrers API, with a timeout on every
 * call, a TTL cache and the registry's authentication: a 401 challenge is answered with basic
 * auth or, for `Bearer`, a token from the challenge's realm (with the keychain's credential,
 * anonymous otherwise), as go-containerregistry's transport does. Plain HTTP for loopback and
 * private (RFC 1918) registries and when `insecure` (Kyverno's `allowInsecureRegistry`),
 * HTTPS elsewhere.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64Encode } from '../engine/jmespath/go-compat';
import { helperServerUrl, keychainEntryFor, type Keychain, type RegistryCredential } from './credentials';
import { providerUnavailable } from './providers';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export const INDEX_MEDIA_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

export interface RegistryClientOptions {
  /** Per request, in milliseconds (default 10 s). */
  timeoutMs?: number;
  /** How long answers are reused (default 60 s). */
  ttlMs?: number;
  /** Use plain HTTP for every registry, not only loopback ones (`allowInsecureRegistry`). */
  insecure?: boolean;
  /** Credentials by registry (pull secrets, docker config). */
  keychain?: Keychain;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface Manifest {
  digest: string;
  mediaType: string;
  body: Record<string, unknown>;
  /** The manifest's bytes as served (what its digest covers). */
  raw: Uint8Array;
}

export class RegistryError extends Error {
  /** `network`: the registry did not answer (refused, unreachable, timed out), as opposed to answering with an error. */
  constructor(message: string, readonly status?: number, readonly network = false) {
    super(message);
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function isLoopbackRegistry(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\./.test(name);
}

/** go-containerregistry's Registry.Scheme(): loopback and RFC 1918 addresses are spoken to over HTTP. */
function isPlainHttpRegistry(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return isLoopbackRegistry(host) || /^10\./.test(name) || /^192\.168\./.test(name) || /^172\.(1[6-9]|2\d|3[01])\./.test(name);
}

/** A `WWW-Authenticate` header: its scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/.exec(header) ?? ['', '', ''];
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

/** The registry's error document (`{"errors":[{"code","message","detail"}]}`) as go-containerregistry prints it. */
async function statusError(method: string, url: string, res: Response): Promise<RegistryError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // the body is optional
  }
  let detail = `unexpected status code ${res.status} ${res.statusText}`.trim();
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const errors = (doc.errors ?? []).filter((e) => e && typeof e.code === 'string');
    if (errors.length > 0) detail = errors.map((e) => `${e.code}: ${e.message ?? ''}`).join('; ');
  } catch {
    // not JSON: keep the status line
  }
  return new RegistryError(`${method} ${url}: ${detail}`, res.status);
}

export class RegistryClient {
  private readonly cache: Map<string, { expires: number; value: Promise<unknown> }>;
  /** Authorization headers earned from challenges, per registry and repository. */
  private readonly authorizations: Map<string, { expires: number; header: string }>;
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  /** Separates cached answers of clients with different credentials. */
  private readonly identity: string;

  constructor(private readonly options: RegistryClientOptions = {}, shared?: RegistryClient) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.cache = shared?.cache ?? new Map();
    this.authorizations = shared?.authorizations ?? new Map();
    const entries = options.keychain?.entries ?? [];
    this.identity = entries.length === 0
      ? String(options.insecure ?? false)
      : JSON.stringify([options.insecure ?? false, entries.map((e) => [e.key, e.credential ?? e.helper?.name ?? e.provider])]);
  }

  /** A client with other credentials, insecure setting or timeout sharing this one's cache and fetch. */
  with(access: { keychain?: Keychain; insecure?: boolean; timeoutMs?: number }): RegistryClient {
    return new RegistryClient({ ...this.options, ...access }, this);
  }

  /**
   * A value derived from registry reads, kept for the TTL like the reads themselves (per
   * credentials): the same object comes back while it lives, so what the engine memoises on
   * it (verification results) is reused. Values `keep` refuses (failures) are not kept.
   */
  remember<T>(key: string, load: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
    const full = `${this.identity} ${key}`;
    const value = this.cached(key, load);
    void value.then((v) => {
      if (!keep(v)) this.cache.delete(full);
    }, () => undefined);
    return value;
  }

  /** The base URL of a registry host; Docker Hub's name is an alias. */
  baseUrl(registry: string): string {
    const host = registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
    const scheme = this.options.insecure || isPlainHttpRegistry(host) ? 'http' : 'https';
    return `${scheme}://${host}`;
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const full = `${this.identity} ${key}`;
    const hit = this.cache.get(full);
    if (hit && hit.expires > this.now()) return hit.value as Promise<T>;
    const value = load();
    this.cache.set(full, { expires: this.now() + this.ttlMs, value });
    // Failures are not kept: the next run asks again.
    value.catch(() => this.cache.delete(full));
    return value;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const res = await this.fetchImpl(url, { ...init, signal: controller.signal });
      // Read the body within the same deadline.
      const body = await res.arrayBuffer();
      return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (e) {
      const err = e as Error & { cause?: { message?: string; code?: string } };
      if (err.name === 'AbortError') throw new RegistryError(`${init.method ?? 'GET'} ${url}: timed out after ${this.timeoutMs} ms`, undefined, true);
      const cause = err.cause?.code ?? err.cause?.message;
      throw new RegistryError(`${init.method ?? 'GET'} ${url}: ${cause ? `${err.message} (${cause})` : err.message}`, undefined, true);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The keychain's credential for a repository: a static one, one a credential helper gives
   * (its failure fails the request, as go-containerregistry's DefaultKeychain), or the error
   * of a cloud provider that cannot be asked.
   */
  private async credential(registry: string, repository: string): Promise<RegistryCredential | undefined> {
    const entry = keychainEntryFor(this.options.keychain, registry, repository);
    if (!entry) return undefined;
    if (entry.provider) throw new RegistryError(providerUnavailable(entry.provider, registry), 401);
    if (entry.helper) {
      try {
        return await entry.helper.get(helperServerUrl(registry));
      } catch (e) {
        throw new RegistryError(`resolving credentials for ${registry}: ${(e as Error).message}`);
      }
    }
    return entry.credential;
  }

  /** A token from the challenge's realm (the distribution token protocol). */
  private async bearerToken(params: Record<string, string>, registry: string, repository: string): Promise<{ token: string; expiresIn: number }> {
    const cred = await this.credential(registry, repository);
    if (cred?.registryToken) return { token: cred.registryToken, expiresIn: 60 };
    if (!params.realm) throw new RegistryError(`${registry}: bearer challenge without a realm`);
    const url = new URL(params.realm);
    const scope = params.scope ?? `repository:${repository}:pull`;
    let res: Response;
    if (cred?.identityToken) {
      // An identity (refresh) token is exchanged with the OAuth2 form POST, as go-containerregistry does.
      const form = new URLSearchParams({ grant_type: 'refresh_token', service: params.service ?? '', client_id: 'go-containerregistry', scope, refresh_token: cred.identityToken });
      res = await this.send(url.toString(), { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    } else {
      if (params.service) url.searchParams.set('service', params.service);
      url.searchParams.set('scope', scope);
      const headers: Record<string, string> = {};
      if (cred?.username !== undefined) headers.Authorization = `Basic ${base64Encode(new TextEncoder().encode(`${cred.username}:${cred.password ?? ''}`))}`;
      res = await this.send(url.toString(), { method: 'GET', headers });
    }
    if (!res.ok) throw await statusError('GET', url.toString(), res);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = (await res.json()) as typeof doc;
    } catch {
      throw new RegistryError(`GET ${url}: token response is not JSON`);
    }
    const token = typeof doc.token === 'string' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token) throw new RegistryError(`GET ${url}: token response has no token`);
    return { token, expiresIn: typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60 };
  }

  /** A request to the registry, answering one authentication challenge. */
  private async request(registry: string, repository: string, url: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Response> {
    const scopeKey = `${this.identity} ${registry}/${repository}`;
    const known = this.authorizations.get(scopeKey);
    const headers = { ...(init.headers ?? {}) };
    if (known && known.expires > this.now()) headers.Authorization = known.header;
    const res = await this.send(url, { ...init, headers });
    if (res.status !== 401) return res;
    const { scheme, params } = parseChallenge(res.headers.get('www-authenticate') ?? '');
    let header: string;
    let expiresIn = 300;
    if (scheme === 'basic') {
      const cred = await this.credential(registry, repository);
      if (cred?.username === undefined) return res;
      header = `Basic ${base64Encode(new TextEncoder().encode(`${cred.username}:${cred.password ?? ''}`))}`;
    } else if (scheme === 'bearer') {
      const token = await this.bearerToken(params, registry, repository);
      header = `Bearer ${token.token}`;
      expiresIn = token.expiresIn;
    } else {
      return res;
    }
    // Reused until shortly before the token expires.
    this.authorizations.set(scopeKey, { header, expires: this.now() + Math.max(1, expiresIn - 10) * 1000 });
    return this.send(url, { ...init, headers: { ...(init.headers ?? {}), Authorization: header } });
  }

  /** The manifest for a tag or digest; null when the registry has none (404). */
  getManifest(registry: string, repository: string, reference: string): Promise<Manifest | null> {
    const url = `${this.baseUrl(registry)}/v2/${repository}/manifests/${reference}`;
    return this.cached(`manifest ${url}`, async () => {
      const res = await this.request(registry, repository, url, { method: 'GET', headers: { Accept: MANIFEST_ACCEPT } });
      if (res.status === 404) return null;
      if (!res.ok) throw await statusError('GET', url, res);
      const raw = new Uint8Array(await res.arrayBuffer());
      const computed = `sha256:${hex(sha256(raw))}`;
      const digest = res.headers.get('docker-content-digest') ?? computed;
      if (reference.startsWith('sha256:') && computed !== reference) throw new RegistryError(`GET ${url}: manifest digest ${computed} does not match ${reference}`);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>;
      } catch {
        throw new RegistryError(`GET ${url}: manifest is not JSON`);
      }
      const mediaType = typeof body.mediaType === 'string' ? body.mediaType : (res.headers.get('content-type') ?? '');
      return { digest, mediaType, body, raw };
    });
  }

  /** A blob's bytes, checked against its digest. */
  getBlob(registry: string, repository: string, digest: string): Promise<Uint8Array> {
    const url = `${this.baseUrl(registry)}/v2/${repository}/blobs/${digest}`;
    return this.cached(`blob ${url}`, async () => {
      const res = await this.request(registry, repository, url, { method: 'GET' });
      if (!res.ok) throw await statusError('GET', url, res);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (digest.startsWith('sha256:') && `sha256:${hex(sha256(bytes))}` !== digest) throw new RegistryError(`GET ${url}: blob does not match its digest`);
      return bytes;
    });
  }

  /**
   * The OCI 1.1 referrers of a digest (an index of descriptors), optionally of one artifact
   * type; null when the registry does not implement the API (404), the caller then falls back
   * to the `sha256-<hex>` tag schema as go-containerregistry does.
   */
  getReferrers(registry: string, repository: string, digest: string, artifactType?: string): Promise<Array<Record<string, unknown>> | null> {
    const url = `${this.baseUrl(registry)}/v2/${repository}/referrers/${digest}${artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ''}`;
    return this.cached(`referrers ${url}`, async () => {
      const res = await this.request(registry, repository, url, { method: 'GET', headers: { Accept: 'application/vnd.oci.image.index.v1+json' } });
      if (res.status === 404) return null;
      if (!res.ok) throw await statusError('GET', url, res);
      const type = res.headers.get('content-type') ?? '';
      if (!type.startsWith('application/vnd.oci.image.index.v1+json')) return null;
      const doc = (await res.json()) as { manifests?: unknown };
      const list = Array.isArray(doc.manifests) ? (doc.manifests as Array<Record<string, unknown>>) : [];
      return artifactType ? list.filter((m) => m.artifactType === artifactType) : list;
    });
  }
}
