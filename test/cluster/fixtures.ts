/** Policies and a local webhook for the cluster tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificates, type CertificateSet } from '../../tls/certificates';
import type { JsonObject } from '../../kube-api/client';
import { startWebhookServer, type WebhookServer } from '../../webhook/server';

export const REQUIRE_TEAM: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'require-team-label' },
  spec: {
    validationFailureAction: 'Enforce',
    background: true,
    rules: [
      {
        name: 'check-team',
        match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
        validate: { message: "label 'team' is required", pattern: { metadata: { labels: { team: '?*' } } } },
      },
    ],
  },
};

export const AUDIT_OWNER: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'audit-owner-annotation' },
  spec: {
    validationFailureAction: 'Audit',
    background: true,
    rules: [
      {
        name: 'check-owner',
        match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
        validate: { message: "annotation 'owner' is recommended", pattern: { metadata: { annotations: { owner: '?*' } } } },
      },
    ],
  },
};

export const ADD_LABEL: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'add-managed-label' },
  spec: {
    rules: [
      {
        name: 'add-label',
        match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
        mutate: { patchStrategicMerge: { metadata: { labels: { '+(stamped)': 'by-kyverno-studio' } } } },
      },
    ],
  },
};

export interface LocalWebhook {
  url: string;
  certs: CertificateSet;
  server: WebhookServer;
  close(): Promise<void>;
}

/** Our webhook on 127.0.0.1 with certificates for that address, serving `policies`. */
export async function startLocalWebhook(workerScript: string, policies: JsonObject[]): Promise<LocalWebhook> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-local-wh-'));
  const certs = makeCertificates({ hosts: ['127.0.0.1'] });
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  const server = await startWebhookServer({ port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript, workers: 1 });
  server.setPolicies(policies, { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
  return { url: `https://127.0.0.1:${server.address().port}`, certs, server, close: () => server.close() };
}

export function configMap(name: string, labels: Record<string, string> = {}, namespace = 'default'): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data: { a: 'b' } };
}

/** Polls `probe` until it gives a value; on timeout the error ends with the tail of `log()`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, log: () => string = () => '', timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nwebhook log:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export interface InClusterWebhook {
  child: ChildProcess;
  url: string;
  certs: CertificateSet;
  /** Where its certificates (tls.crt/tls.key, reloaded when they change) live: pass it with the port to start a replacement the API server still trusts. */
  tlsDir: string;
  port: number;
}

/**
 * `serve --in-cluster` from the built bundle against a test cluster's kubeconfig, on a free
 * loopback port; resolves once it listens. Its log goes to `onLog` as it comes. `reuse`
 * starts a replacement with the same certificates and port (the webhook configurations
 * registered for the first keep working), or names the port and address to listen on.
 */
export async function startInClusterWebhook(
  bundle: string, kubeconfig: string, onLog: (text: string) => void, extraArgs: string[] = [], env: Record<string, string> = {},
  certs: CertificateSet = makeCertificates({ hosts: ['127.0.0.1'] }),
  reuse?: Partial<Pick<InClusterWebhook, 'tlsDir' | 'port'>> & { host?: string },
): Promise<InClusterWebhook> {
  const dir = reuse?.tlsDir ?? mkdtempSync(join(tmpdir(), 'ks-incluster-'));
  const host = reuse?.host ?? '127.0.0.1';
  if (!reuse?.tlsDir) {
    writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
    writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
    writeFileSync(join(dir, 'ca.crt'), certs.ca.certPem);
  }
  const child = spawn(process.execPath, [bundle, '--in-cluster', '--kubeconfig', kubeconfig, '--port', String(reuse?.port ?? 0), '--host', host,
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--workers', '1', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let log = '';
  child.stderr!.on('data', (c) => {
    log += c;
    onLog(String(c));
  });
  const port = await waitFor('the in-cluster webhook to listen', async () => /in-cluster mode on https:\/\/[^:]+:(\d+)/.exec(log)?.[1], () => log, 30_000);
  return { child, url: `https://${host}:${port}`, certs, tlsDir: dir, port: Number(port) };
}
