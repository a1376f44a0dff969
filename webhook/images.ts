/**
 * Registry reads for a review, before its (synchronous) evaluation: the images the candidate
 * policies verify (verifyImages) or read (`imageRegistry` context entries, CEL
 * `image.GetMetadata`), fetched within the review's deadline. The registry client's cache
 * (per credentials, TTL) keeps the records, and the engine keeps verification outcomes on
 * them, so a warm review verifies from memory. A registry that does not answer in time
 * gives the records an error: the rule's `error`, which blocks the request only under a
 * policy whose failurePolicy is Fail (Kyverno's BlockRequest).
 */
import type { ClusterState, JsonObject } from '../engine/core/types';
import { asArray, asObject, isJsonObject } from '../engine/core/json';
import { prefetchImageRegistry, RegistryClient, type Keychain } from '../registry';

export interface ImageAccessOptions {
  /** Upper bound per registry call (default 5 s); the review's deadline may leave less. */
  timeoutMs?: number;
  /** How long registry answers and verification outcomes are reused (default 5 min). */
  ttlMs?: number;
  keychain?: Keychain;
  /** The `default` credential provider's keychain (the process's Docker config). */
  defaultKeychain?: Keychain;
  /** Time kept back from the review's deadline for the evaluation itself. */
  reserveMs?: number;
  fetch?: typeof fetch;
}

const readsImages = new WeakMap<JsonObject, boolean>();

/** Whether a policy needs registry reads: verifyImages rules, imageRegistry context entries, image.GetMetadata. */
export function policyReadsImages(policy: JsonObject): boolean {
  let known = readsImages.get(policy);
  if (known !== undefined) return known;
  const spec = asObject(policy.spec);
  // ImageValidatingPolicies read the registry for every image they match.
  known = /^(Namespaced)?ImageValidatingPolicy$/.test(String(policy.kind ?? '')) || asArray(spec?.rules).some((r) => asArray(asObject(r)?.verifyImages).length > 0);
  if (!known) {
    const visit = (node: unknown, key: string): boolean => {
      if (typeof node === 'string') return /\bimage\.(GetMetadata|getMetadata)\s*\(/.test(node);
      if (Array.isArray(node)) return node.some((n) => visit(n, key));
      if (!isJsonObject(node)) return false;
      if (key === 'imageRegistry') return true;
      return Object.entries(node).some(([k, v]) => visit(v, k));
    };
    known = visit(spec, 'spec');
  }
  readsImages.set(policy, known);
  return known;
}

export class ImageRegistryAccess {
  private readonly client: RegistryClient;
  private readonly timeoutMs: number;
  private readonly reserveMs: number;

  constructor(private readonly options: ImageAccessOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.reserveMs = options.reserveMs ?? 200;
    this.client = new RegistryClient({ timeoutMs: this.timeoutMs, ttlMs: options.ttlMs ?? 300_000, fetch: options.fetch });
  }

  /**
   * The cluster state for evaluating `object` against `policies`: with the registry snapshot
   * when some policy reads images, the same state otherwise.
   */
  async clusterFor(policies: readonly JsonObject[], object: JsonObject | undefined, cluster: ClusterState, deadline = Infinity): Promise<ClusterState> {
    if (!object) return cluster;
    const reading = policies.filter(policyReadsImages);
    if (reading.length === 0) return cluster;
    const left = deadline === Infinity ? this.timeoutMs : Math.max(1, Math.min(this.timeoutMs, deadline - Date.now() - this.reserveMs));
    const imageRegistry = await prefetchImageRegistry(reading, [object], {
      client: this.client.with({ timeoutMs: left }),
      secrets: cluster.registrySecrets ? [...cluster.resources, ...cluster.registrySecrets.secrets] : cluster.resources,
      kyvernoNamespace: cluster.registrySecrets?.namespace,
      keychain: this.options.keychain,
      defaultKeychain: this.options.defaultKeychain,
    });
    return { ...cluster, imageRegistry };
  }
}
