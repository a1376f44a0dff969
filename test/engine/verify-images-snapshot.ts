/** Shared by the verifyImages engine tests: one rule on a Pod whose image `registry.test/app:1` has the given snapshot record. */
import { applyPolicy } from '../../engine/apply';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { offlineCluster } from '../../engine/evaluate';
import type { RegistryImage } from '../../engine/verify-images';

export const SNAPSHOT_IMAGE = 'registry.test/app:1';

export function runWithRecord(entry: JsonObject, record: RegistryImage | undefined): RuleResult[] {
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{ imageReferences: ['registry.test/*'], mutateDigest: false, verifyDigest: false, required: false, ...entry }] }] },
  };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'c', image: SNAPSHOT_IMAGE }] } };
  const cluster = offlineCluster({ resources: [pod] });
  cluster.imageRegistry = { images: record ? { [SNAPSHOT_IMAGE]: record } : {} };
  return applyPolicy(policy, { request: { operation: 'CREATE', object: pod, oldObject: null } as never, cluster }).rules;
}
