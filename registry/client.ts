/**
 * A small OCI distribution client (the registry HTTP API v2) for the engine's I/O layer:
 * manifests by tag or digest, blobs, with a timeout on every call and a TTL cache. Plain
 * HTTP for registries on loopback (as tests run them), HTTPS elsewhere unless `insecure`.
 * Authentication (bearer tokens, basic auth from imageRegistryCredentials) is not here yet.
 */
import { sha256 } from '@noble/hashes/sha2.js';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface RegistryClientOptions {
  /** Per request, in milliseconds (default 10 s). */
  timeoutMs?: number;
  /** How long answers are reused (default 60 s). */
  ttlMs?: number;
  /** Use plain HTTP for every registry, not only loopback ones. */
  insecure?: boolean;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface Manifest {
  digest: string;
  mediaType: string;
  body: Record<string, unknown>;
  /** Length in bytes of the manifest as served. */
  size: number;
}

export class RegistryError extends Error {
  constructor(message: string, readonly status?: number) {
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

export class RegistryClient {
  private readonly cache = new Map<string, { expires: number; value: Promise<unknown> }>();
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /** The base URL of a registry host; Docker Hub's name is an alias. */
  baseUrl(registry: string): string {
    const host = registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
    const scheme = this.options.insecure || isLoopbackRegistry(host) ? 'http' : 'https';
    return `${scheme}://${host}`;
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && hit.expires > this.now()) return hit.value as Promise<T>;
    const value = load();
    this.cache.set(key, { expires: this.now() + this.ttlMs, value });
    // Failures are not kept: the next run asks again.
    value.catch(() => this.cache.delete(key));
    return value;
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      return await this.fetchImpl(url, { ...init, signal: controller.signal });
    } catch (e) {
      const err = e as Error & { cause?: { message?: string; code?: string } };
      if (err.name === 'AbortError') throw new RegistryError(`${init.method ?? 'GET'} ${url}: timed out after ${this.timeoutMs} ms`);
      const cause = err.cause?.code ?? err.cause?.message;
      throw new RegistryError(`${init.method ?? 'GET'} ${url}: ${cause ? `${err.message} (${cause})` : err.message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The manifest for a tag or digest; null when the registry has none (404). */
  getManifest(registry: string, repository: string, reference: string): Promise<Manifest | null> {
    const url = `${this.baseUrl(registry)}/v2/${repository}/manifests/${reference}`;
    return this.cached(`manifest ${url}`, async () => {
      const res = await this.request(url, { method: 'GET', headers: { Accept: MANIFEST_ACCEPT } });
      if (res.status === 404) return null;
      if (!res.ok) throw new RegistryError(`GET ${url}: unexpected status ${res.status}`, res.status);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const computed = `sha256:${hex(sha256(bytes))}`;
      const digest = res.headers.get('docker-content-digest') ?? computed;
      if (reference.startsWith('sha256:') && computed !== reference) throw new RegistryError(`GET ${url}: manifest digest ${computed} does not match ${reference}`);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      } catch {
        throw new RegistryError(`GET ${url}: manifest is not JSON`);
      }
      const mediaType = typeof body.mediaType === 'string' ? body.mediaType : (res.headers.get('content-type') ?? '');
      return { digest, mediaType, body, size: bytes.length };
    });
  }

  /**
   * The OCI 1.1 referrers index of a manifest: the referrers API, else (a registry without it
   * answers 404) the `sha256-<hex>` tag fallback, as go-containerregistry's remote.Referrers.
   * An empty index when there is neither.
   */
  getReferrers(registry: string, repository: string, digest: string): Promise<Array<Record<string, unknown>>> {
    const url = `${this.baseUrl(registry)}/v2/${repository}/referrers/${digest}`;
    return this.cached(`referrers ${url}`, async () => {
      const res = await this.request(url, { method: 'GET', headers: { Accept: 'application/vnd.oci.image.index.v1+json' } });
      const type = res.headers.get('content-type') ?? '';
      if (res.ok && type.includes('application/vnd.oci.image.index.v1+json')) {
        const body = (await res.json()) as { manifests?: unknown };
        return Array.isArray(body.manifests) ? (body.manifests as Array<Record<string, unknown>>) : [];
      }
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok || res.status === 404 || res.status === 400 || res.status === 405) {
        const index = await this.getManifest(registry, repository, digest.replace(':', '-'));
        return Array.isArray(index?.body.manifests) ? (index.body.manifests as Array<Record<string, unknown>>) : [];
      }
      throw new RegistryError(`GET ${url}: unexpected status ${res.status}`, res.status);
    });
  }

  /** A blob's bytes, checked against its digest. */
  getBlob(registry: string, repository: string, digest: string): Promise<Uint8Array> {
    const url = `${this.baseUrl(registry)}/v2/${repository}/blobs/${digest}`;
    return this.cached(`blob ${url}`, async () => {
      const res = await this.request(url, { method: 'GET' });
      if (!res.ok) throw new RegistryError(`GET ${url}: unexpected status ${res.status}`, res.status);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (digest.startsWith('sha256:') && `sha256:${hex(sha256(bytes))}` !== digest) throw new RegistryError(`GET ${url}: blob does not match its digest`);
      return bytes;
    });
  }
}
