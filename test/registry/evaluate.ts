/** What the registry suites share: a verifyImages policy, a Pod, an evaluation with the registry read first. */
import { evaluateResources, offlineCluster } from '../../engine/evaluate';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { prefetchImageRegistry, RegistryClient, type PrefetchOptions } from '../../registry';

/** A cosign public-key attestor set without the transparency log. */
export function keysAttestor(publicKeyPem: string): JsonObject {
  return { entries: [{ keys: { publicKeys: publicKeyPem, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }] };
}

/** A ClusterPolicy with one rule `verify` on Pods and one verifyImages entry (digest checks off unless the entry sets them). */
export function verifyImagesPolicy(name: string, entry: JsonObject, rule: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: {
      rules: [{
        name: 'verify',
        match: { any: [{ resources: { kinds: ['Pod'] } }] },
        verifyImages: [{ mutateDigest: false, verifyDigest: false, required: false, ...entry }],
        ...rule,
      }],
    },
  };
}

export function podOf(image: string, options: { namespace?: string; pullSecrets?: string[] } = {}): JsonObject {
  const spec: JsonObject = { containers: [{ name: 'app', image }] };
  if (options.pullSecrets) spec.imagePullSecrets = options.pullSecrets.map((name) => ({ name }));
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: options.namespace ?? 'default' }, spec };
}

/** Reads the registry for the policy and resource, then evaluates as the CLI does. */
export async function evaluateWithRegistry(policy: JsonObject, resource: JsonObject, options: RegistryClient | PrefetchOptions = new RegistryClient({ timeoutMs: 3000 })) {
  const cluster = offlineCluster({ resources: [resource] });
  cluster.imageRegistry = await prefetchImageRegistry([policy], [resource], options);
  const [evaluation] = evaluateResources({ policies: [policy], resources: [resource], cluster });
  return { rules: evaluation.responses.flatMap((r) => r.rules) as RuleResult[], patched: evaluation.patched, snapshot: cluster.imageRegistry };
}
