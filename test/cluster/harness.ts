/**
 * A real kube-apiserver (1.20, built from Debian's source package by
 * scripts/build-kube-apiserver.sh, cached in ~/.cache/kube-local) on loopback for one test
 * file, plus helpers. There is no kubelet or scheduler: Pods never run, so webhook servers
 * run as local processes and Deployment readiness is simulated by patching its status.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { KubeClient, type JsonObject } from '../../kube-api/client';
import type { DeployUI } from '../../deploy/run';
import { defaultReadiness, type ReadinessCheck } from '../../deploy/ready';
import type { ClusterTarget } from '../../deploy/context';

const SCRIPTS = resolve(__dirname, 'scripts');
const BIN = join(process.env.KUBE_LOCAL_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kube-local'), 'bin');

export interface TestCluster {
  kubeconfig: string;
  state: string;
  client: KubeClient;
  stop(): void;
}

/** Builds (once, cached) and starts etcd + kube-apiserver + controller-manager. */
export function startCluster(): TestCluster {
  // KS_KUBE_NO_KCM=1: no kube-controller-manager (faster first build; namespaces then never
  // finish deleting, so only the local-mode tests can pass).
  const noKcm = process.env.KS_KUBE_NO_KCM === '1';
  const built = spawnSync('nice', ['-n', '10', join(SCRIPTS, 'build-kube-apiserver.sh'), ...(noKcm ? [] : ['--with-controller-manager'])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`building kube-apiserver failed (exit ${built.status}); see ~/.cache/kube-local/build.log`);
  const state = mkdtempSync(join(tmpdir(), 'ks-kube-'));
  execFileSync(join(SCRIPTS, 'kube-up.sh'), [state], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, KUBE_BIN_DIR: BIN, ...(noKcm ? { KUBE_UP_KCM: '0' } : {}) } });
  const kubeconfig = join(state, 'kubeconfig');
  let stopped = false;
  return {
    kubeconfig,
    state,
    client: KubeClient.fromKubeconfig(kubeconfig),
    stop() {
      if (stopped) return;
      stopped = true;
      execFileSync(join(SCRIPTS, 'kube-down.sh'), [state, '--purge'], { stdio: 'ignore' });
    },
  };
}

/** Bundles webhook/main.ts like dist/webhook.js (independent of the project's full build). */
export async function bundleWebhook(): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), 'ks-bundle-')), 'webhook.js');
  await build({ entryPoints: [resolve(__dirname, '../../webhook/main.ts')], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'error' });
  return out;
}

/** Bundles the CLI (cli/main.ts) beside a webhook bundle, where `deploy` finds webhook.js (and the CRDs, linked). */
export async function bundleCli(webhookBundle: string): Promise<string> {
  const out = join(dirname(webhookBundle), 'cli.js');
  await build({ entryPoints: [resolve(__dirname, '../../cli/main.ts')], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'error' });
  if (!existsSync(join(dirname(out), 'crds'))) symlinkSync(resolve(__dirname, '../../deploy/crds'), join(dirname(out), 'crds'));
  return out;
}

export interface RecordingUI extends DeployUI {
  lines: string[];
  confirmations: Array<{ summary: string; context: string }>;
}

export function recordingUI(answer = true, offerPoliciesOnly = false): RecordingUI {
  const lines: string[] = [];
  const confirmations: Array<{ summary: string; context: string }> = [];
  return {
    lines,
    confirmations,
    log: (l) => lines.push(l),
    step: (t) => lines.push(`==> ${t}`),
    confirm: async (summary: string, target: ClusterTarget) => {
      confirmations.push({ summary, context: target.context });
      return answer;
    },
    offerPoliciesOnly: async () => offerPoliciesOnly,
  };
}

/**
 * Readiness without a kubelet: pods never run here, and the deployment controller rewrites the
 * status we could patch in, so racing it is flaky. Instead the real readiness check runs on a
 * client whose reads of this Deployment show it rolled out from the second poll on: the first
 * poll sees the real (unready) object, so the waiting loop is exercised, not skipped.
 */
export function simulatedReadiness(timeoutMs = 20_000): ReadinessCheck {
  return async (client, namespace, name, signal) => {
    let polls = 0;
    const view = Object.create(client) as KubeClient;
    view.get = async (ref) => {
      const obj = await client.get(ref);
      if (!obj || ref.kind !== 'Deployment' || ref.name !== name || ref.namespace !== namespace) return obj;
      if (polls++ === 0) return obj;
      const gen = Number(((obj.metadata ?? {}) as JsonObject).generation ?? 1);
      const n = Number(((obj.spec ?? {}) as JsonObject).replicas ?? 1);
      return { ...obj, status: { observedGeneration: gen, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n } };
    };
    await defaultReadiness(timeoutMs)(view, namespace, name, signal);
    if (polls < 2) throw new Error('simulated readiness: the readiness check did not wait for a second poll');
  };
}

/** Names of every object of the kinds a deploy touches, for "left as found" checks. */
export async function snapshot(client: KubeClient): Promise<string[]> {
  const kinds: Array<[string, string, string?]> = [
    ['v1', 'Namespace'],
    ['apiextensions.k8s.io/v1', 'CustomResourceDefinition'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
    ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'],
    ['admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'],
    ['v1', 'ConfigMap', 'default'],
    ['v1', 'Secret', 'default'],
    ['apps/v1', 'Deployment', 'default'],
    ['kyverno.io/v1', 'ClusterPolicy'],
  ];
  const out: string[] = [];
  for (const [apiVersion, kind, ns] of kinds) {
    for (const o of await client.list(apiVersion, kind, ns)) {
      const m = o.metadata as JsonObject;
      if (kind === 'Secret' && String((o as JsonObject).type) === 'kubernetes.io/service-account-token') continue;
      out.push(`${kind}/${String(m.namespace ?? '')}/${String(m.name)}`);
    }
  }
  return out.sort();
}

export function kubectl(cluster: TestCluster, ...args: string[]): string {
  return execFileSync(join(BIN, 'kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args], { encoding: 'utf8' });
}

/** kubectl with `input` on stdin; its exit status, stdout and stderr (warnings come on stderr). */
export function kubectlInput(cluster: TestCluster, input: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(join(BIN, 'kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args], { input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function haveBinaries(): boolean {
  return existsSync(join(BIN, 'kube-apiserver'));
}

export function readKubeconfig(c: TestCluster): string {
  return readFileSync(c.kubeconfig, 'utf8');
}
