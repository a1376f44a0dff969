/**
 * In-cluster certificate renewal (Kyverno's cert renewer, run by the admission leader), and the
 * Secrets it works on, laid out as Kyverno's: `kyverno-svc.<ns>.svc.kyverno-tls-ca` (the CA
 * bundle in tls.crt, the CA key in tls.key) and `kyverno-svc.<ns>.svc.kyverno-tls-pair` (the
 * serving certificate and key), both labelled `cert.kyverno.io/managed-by: kyverno`. deploy
 * writes them; before they expire the leader renews them (tls/certificates.ts decides what), so
 * a webhook left running keeps being trusted. Order matters: the webhook configurations first
 * trust the new CA (beside the old one when the key changed; a CA renewed with its own key
 * replaces its earlier certificate, which verifies the same signatures), then the Secrets change, then every replica reloads the
 * mounted files (the server watches them), so no replica is ever distrusted.
 */
import { X509Certificate } from 'node:crypto';
import type { KubeClient } from '../kube-api/client';
import { KubeError } from '../kube-api/errors';
import { certificatesCover, DEFAULT_KEY_ALGORITHM, hostsOf, nextCertificates, pemBlocks, RENEW_BEFORE_MS, trustBundle, type CertificateSet, type KeyAlgorithm } from '../tls/certificates';
import { ALL_CONFIGS, isOurs, SERVICE_NAME, serviceHosts, WEBHOOK_NAME } from './configurations';

type Json = Record<string, unknown>;

export const CERT_RENEWAL_INTERVAL_MS = 12 * 3_600_000;

/** Kyverno's label on the certificate Secrets it made; without it (cert-manager's, say) it never renews them. */
export const CERT_MANAGED_BY = { 'cert.kyverno.io/managed-by': 'kyverno' };

/** Kyverno's Secret names (the chart's --caSecretName and --tlsSecretName for the admission controller). */
export function tlsSecretNames(namespace: string): { ca: string; pair: string } {
  const base = `${SERVICE_NAME}.${namespace}.svc`;
  return { ca: `${base}.kyverno-tls-ca`, pair: `${base}.kyverno-tls-pair` };
}

/** The single Secret older versions of ours wrote (serving pair plus a `ca.crt` bundle, no CA key): read when upgrading. */
export const LEGACY_TLS_SECRET = `${WEBHOOK_NAME}-tls`;

export type RenewalOutcome = 'kept' | 'rotated' | 'no-secret' | 'not-managed';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : '');
const secretRef = (name: string, namespace: string) => ({ apiVersion: 'v1', kind: 'Secret', name, namespace });

/** The two Secrets holding `set` (kubernetes.io/tls, as Kyverno's writeSecret makes them); `labels` are added to Kyverno's. */
export function tlsSecrets(set: CertificateSet, namespace: string, labels: Json = {}): Json[] {
  const names = tlsSecretNames(namespace);
  const secret = (name: string, certPem: string, keyPem: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, labels: { ...labels, ...CERT_MANAGED_BY } },
    data: { 'tls.crt': b64(certPem), 'tls.key': b64(keyPem) },
  });
  return [secret(names.ca, trustBundle(set), set.ca.keyPem), secret(names.pair, set.serving.certPem, set.serving.keyPem)];
}

/**
 * The certificates the two Secrets hold: the CA whose key is in the CA Secret is the current one
 * (Kyverno appends a renewed CA last), the other certificates of its bundle are previous ones.
 * Without the pair Secret the serving certificate is empty (renewal makes one).
 */
export function certificatesOfSecrets(ca: Json | undefined, pair: Json | undefined): CertificateSet | undefined {
  const caData = (ca?.data ?? {}) as Json;
  const pairData = (pair?.data ?? {}) as Json;
  // Kyverno's reader falls back to the older rootCA.crt key.
  const blocks = pemBlocks(unb64(caData['tls.crt']) || unb64(caData['rootCA.crt']));
  if (!blocks.length) return undefined;
  const current = blocks[blocks.length - 1];
  const previous = blocks.slice(0, -1).join('');
  return {
    ca: { certPem: current, keyPem: unb64(caData['tls.key']) },
    serving: { certPem: unb64(pairData['tls.crt']), keyPem: unb64(pairData['tls.key']) },
    ...(previous ? { previousCaPem: previous } : {}),
  };
}

/** Kyverno's isSecretManagedByKyverno: a missing Secret counts as its own (it makes it). */
export const managedByKyverno = (secret: Json | undefined) =>
  !secret || ((secret.metadata as Json | undefined)?.labels as Json | undefined)?.['cert.kyverno.io/managed-by'] === CERT_MANAGED_BY['cert.kyverno.io/managed-by'];

/** The hosts the serving certificate names: the current one's, else the Service's (as deploy makes it). */
function hostsFor(set: CertificateSet | undefined, namespace: string): string[] {
  try {
    if (set?.serving.certPem) return hostsOf(set.serving.certPem);
  } catch {
    // unreadable: made anew for the Service
  }
  return serviceHosts(namespace);
}

/**
 * Checks the serving certificates once and renews them when they are due (Kyverno's RenewCA then
 * RenewTLS): `renewBeforeMs` before they expire (Kyverno's --renewBefore, 15 days by default).
 */
export async function renewCertificates(
  client: KubeClient, namespace: string, log: (line: string) => void, now = new Date(), algorithm: KeyAlgorithm = DEFAULT_KEY_ALGORITHM, renewBeforeMs = RENEW_BEFORE_MS,
): Promise<RenewalOutcome> {
  const names = tlsSecretNames(namespace);
  const caSecret = await client.get(secretRef(names.ca, namespace));
  const pairSecret = await client.get(secretRef(names.pair, namespace));
  if (!caSecret && !pairSecret) return 'no-secret';
  const current = certificatesOfSecrets(caSecret, pairSecret);
  if (!managedByKyverno(caSecret) || !managedByKyverno(pairSecret)) {
    // Kyverno never renews Secrets it did not make (cert-manager's); it says so only when they are due.
    if (!current || !certificatesCover(current, hostsFor(current, namespace), { now, renewBeforeMs })) {
      log('certificate renewal: tls is not valid but certificates are not managed by kyverno, we can\'t renew them');
    }
    return 'not-managed';
  }
  const next = nextCertificates(current, hostsFor(current, namespace), { now, algorithm, renewBeforeMs });
  if (!next.rotated) return 'kept';
  const configs = await ourConfigs(client);
  // Without the CA Secret the new CA's bundle knows no earlier CA, but replicas still serve what
  // the CAs the webhook configurations trust signed: they stay trusted while valid.
  const set = caSecret ? next.set : withStillTrusted(next.set, configuredCaBundles(configs), now);
  const bundle = trustBundle(set);
  if (!current || trustBundle(current) !== bundle) {
    for (const config of configs) {
      const webhooks = ((config.webhooks ?? []) as Json[]).map((w) => ({ ...w, clientConfig: { ...((w.clientConfig ?? {}) as Json), caBundle: b64(bundle) } }));
      await client.replace({ ...config, webhooks });
    }
  }
  // Only what changed (Kyverno's RenewTLS leaves the CA Secret be). Existing Secrets keep their
  // metadata (resourceVersion for the conflict check); missing ones are made. A Secret's type
  // cannot change in place: one of another type (an older Opaque one) is deleted and made anew,
  // as Kyverno's renewer deletes it.
  const [caPlanned, pairPlanned] = tlsSecrets(set, namespace);
  for (const [live, planned] of [[caSecret, caPlanned], [pairSecret, pairPlanned]] as const) {
    if (live && live.type !== planned.type) {
      const meta = (live.metadata ?? {}) as Json;
      await client.delete({ apiVersion: 'v1', kind: 'Secret', name: String(meta.name), namespace });
    }
    if (!live || live.type !== planned.type) await client.create(planned);
    else if (JSON.stringify(live.data) !== JSON.stringify(planned.data)) await client.replace({ ...live, data: planned.data });
  }
  const until = new Date(new X509Certificate(set.serving.certPem).validTo).toISOString();
  log(`certificates renewed: ${pemBlocks(bundle).length} CA(s) trusted, serving certificate valid until ${until}`);
  return 'rotated';
}

/** Our webhook configurations as they are now. */
async function ourConfigs(client: KubeClient): Promise<Json[]> {
  const out: Json[] = [];
  for (const [kind, name] of ALL_CONFIGS) {
    const config = await client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind, name });
    if (config && isOurs(config)) out.push(config);
  }
  return out;
}

/** The CA certificates the configurations trust (their caBundles). */
function configuredCaBundles(configs: Json[]): string[] {
  const out = configs.flatMap((c) => ((c.webhooks ?? []) as Json[]).flatMap((w) => pemBlocks(unb64(((w.clientConfig ?? {}) as Json).caBundle))));
  return [...new Set(out)];
}

/** `set` with the still valid certificates of `trusted` it does not hold kept as previous CAs. */
function withStillTrusted(set: CertificateSet, trusted: string[], now: Date): CertificateSet {
  const held = new Set(pemBlocks(trustBundle(set)));
  const kept = trusted.filter((pem) => {
    if (held.has(pem)) return false;
    try {
      return new Date(new X509Certificate(pem).validTo).getTime() >= now.getTime();
    } catch {
      return false;
    }
  });
  return kept.length ? { ...set, previousCaPem: kept.join('') + (set.previousCaPem ?? '') } : set;
}

/** Renews now and then every `intervalMs` until `signal` aborts (the admission leader's loop). */
export function renewPeriodically(
  client: KubeClient, namespace: string, log: (line: string) => void, signal: AbortSignal,
  intervalMs = CERT_RENEWAL_INTERVAL_MS,
  /** Serialises with the webhook controller's syncs (WebhookController.serialized). */
  serialized: <T>(work: () => Promise<T>) => Promise<T> = (work) => work(),
  algorithm: KeyAlgorithm = DEFAULT_KEY_ALGORITHM,
  renewBeforeMs = RENEW_BEFORE_MS,
): void {
  const once = () =>
    serialized(() => renewCertificates(client, namespace, log, new Date(), algorithm, renewBeforeMs)).catch((e: Error) => {
      // A conflict means another writer (a deploy) changed them meanwhile: the next round decides again.
      log(`certificate renewal: ${e instanceof KubeError && e.status === 409 ? 'changed meanwhile, retrying at the next round' : e.message}`);
    });
  void once();
  const timer = setInterval(() => void once(), intervalMs);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
