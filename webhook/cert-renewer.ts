/**
 * In-cluster certificate renewal (Kyverno's cert renewer, run by the admission leader): deploy
 * writes certificates valid for a year; before they expire the leader replaces them, so a
 * webhook left running for a year keeps being trusted. Order matters: the webhook configurations
 * first trust the new CA (beside the old one), then the Secret changes, then every replica
 * reloads the mounted files (the server watches them), so no replica is ever distrusted.
 */
import { X509Certificate } from 'node:crypto';
import type { KubeClient } from '../kube-api/client';
import { KubeError } from '../kube-api/errors';
import { hostsOf, nextCertificates, pemBlocks, secretCertificates, trustBundle } from '../tls/certificates';
import { ALL_CONFIGS, isOurs, WEBHOOK_NAME } from './configurations';

type Json = Record<string, unknown>;

export const CERT_RENEWAL_INTERVAL_MS = 12 * 3_600_000;

export type RenewalOutcome = 'kept' | 'rotated' | 'no-secret';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Checks the serving certificates once and rotates them when they are due. */
export async function renewCertificates(client: KubeClient, namespace: string, log: (line: string) => void, now = new Date()): Promise<RenewalOutcome> {
  const ref = { apiVersion: 'v1', kind: 'Secret', name: `${WEBHOOK_NAME}-tls`, namespace };
  const secret = await client.get(ref);
  const current = secretCertificates(secret);
  if (!secret || !current) return 'no-secret';
  const { set, rotated } = nextCertificates(current, hostsOf(current.serving.certPem), now);
  if (!rotated) return 'kept';
  // The new CA plus the one being replaced (while it is valid); older ones leave the bundle.
  const bundle = trustBundle(set);
  for (const [kind, name] of ALL_CONFIGS) {
    const config = await client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind, name });
    if (!config || !isOurs(config)) continue;
    const webhooks = ((config.webhooks ?? []) as Json[]).map((w) => ({ ...w, clientConfig: { ...((w.clientConfig ?? {}) as Json), caBundle: b64(bundle) } }));
    await client.replace({ ...config, webhooks });
  }
  await client.replace({
    ...secret,
    data: { ...((secret.data ?? {}) as Json), 'tls.crt': b64(set.serving.certPem), 'tls.key': b64(set.serving.keyPem), 'ca.crt': b64(bundle) },
  });
  const until = new Date(new X509Certificate(set.serving.certPem).validTo).toISOString();
  log(`certificates rotated: new CA trusted beside ${pemBlocks(bundle).length - 1} previous one(s), serving certificate valid until ${until}`);
  return 'rotated';
}

/** Renews now and then every `intervalMs` until `signal` aborts (the admission leader's loop). */
export function renewPeriodically(
  client: KubeClient, namespace: string, log: (line: string) => void, signal: AbortSignal,
  intervalMs = CERT_RENEWAL_INTERVAL_MS,
  /** Serialises with the webhook controller's syncs (WebhookController.serialized). */
  serialized: <T>(work: () => Promise<T>) => Promise<T> = (work) => work(),
): void {
  const once = () =>
    serialized(() => renewCertificates(client, namespace, log)).catch((e: Error) => {
      // A conflict means another writer (a deploy) changed them meanwhile: the next round decides again.
      log(`certificate renewal: ${e instanceof KubeError && e.status === 409 ? 'changed meanwhile, retrying at the next round' : e.message}`);
    });
  void once();
  const timer = setInterval(() => void once(), intervalMs);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
