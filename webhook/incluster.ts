/**
 * In-cluster mode: the policies come from the API server, not from files. Every policy kind
 * is watched; each change feeds the server processes (setPolicies), the webhook controller (rules)
 * and the background scanner; admission and scan results become policy reports.
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterState, JsonObject } from '../engine/core/types';
import { KubeClient } from '../kube-api/client';
import { WebhookController } from './controller';
import { ReportWriter } from './reports';
import { BackgroundScanner } from './scan';
import type { WebhookServer } from './server';
import { watchKinds, type WatchedKind } from './watch';

export const POLICY_KINDS: WatchedKind[] = [
  { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy' },
  { apiVersion: 'kyverno.io/v1', kind: 'Policy' },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'NamespacedValidatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'NamespacedMutatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'ImageValidatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'NamespacedImageValidatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
];
const EXCEPTION_KINDS: WatchedKind[] = [
  { apiVersion: 'kyverno.io/v2', kind: 'PolicyException', fallbacks: ['kyverno.io/v2beta1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'PolicyException', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
];

export interface InClusterOptions {
  server: WebhookServer;
  namespace: string;
  caFile: string;
  log: (line: string) => void;
  signal: AbortSignal;
  /** Tests pass a client for a kubeconfig; in a pod it comes from the service account. */
  client?: KubeClient;
  reportIntervalMs?: number;
}

function ready(o: JsonObject): boolean {
  // A policy the engine should not serve yet: Kyverno marks bad ones not ready in status;
  // we accept everything the API server accepted (the CRD schema validated it).
  return !!o.spec;
}

export function inClusterClient(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return new KubeClient(kc);
}

/** Runs until `signal` aborts. */
export async function runInCluster(opts: InClusterOptions): Promise<ReportWriter> {
  const client = opts.client ?? inClusterClient();
  const reports = new ReportWriter(client, opts.log, opts.reportIntervalMs);
  void reports.start(opts.signal);
  const controller = new WebhookController({ client, namespace: opts.namespace, caPem: readFileSync(opts.caFile, 'utf8'), log: opts.log });
  const scanner = new BackgroundScanner(client, (path, body, only) => opts.server.evaluate(path, body, only), (items) => reports.add(items), opts.log);
  const kinds = [...POLICY_KINDS, ...EXCEPTION_KINDS];
  const isException = (o: JsonObject) => o.kind === 'PolicyException';
  void watchKinds(
    client,
    kinds,
    (store) => {
      const all = [...store.objects.values()] as JsonObject[];
      const policies = all.filter((o) => !isException(o) && ready(o));
      const cluster: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: all.filter(isException) };
      opts.server.setPolicies(policies, cluster);
      void reports.retainPolicies(policies);
      opts.log(`serving ${policies.length} policies from the cluster`);
      void controller.sync(policies);
      void scanner.onPolicies(policies);
    },
    opts.log,
    opts.signal,
  );
  return reports;
}
