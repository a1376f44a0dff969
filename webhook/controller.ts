/**
 * The webhook controller (in-cluster mode): keeps the rules of our Validating/Mutating
 * WebhookConfigurations in step with the installed policies, so only the kinds and operations
 * some policy matches reach the webhook. It patches the configurations deploy created (it
 * may only update those two by name) and keeps their caBundle and clientConfig.
 */
import { KubeError } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';
import { withDiscoveredKinds } from '../kube-api/discovery';
import { isOurs, webhookConfigurations, MUTATING_CONFIG, VALIDATING_CONFIG, type WebhookSettings } from './configurations';
import { classicWebhookNeeds } from './rules';

type Json = Record<string, unknown>;

export interface ControllerOptions {
  client: KubeClient;
  namespace: string;
  /** Published only in configurations that have no webhook yet; others keep their caBundle. */
  caPem?: string;
  log: (line: string) => void;
  /**
   * Local mode: the configurations call this URL, and a missing one is created (the local
   * webhook runs with the developer's credentials; in a cluster deploy creates them).
   */
  localUrl?: string;
  /** Kyverno's ConfigMap's webhook keys, read at each sync (default: defaultWebhookSettings). */
  settings?: () => WebhookSettings;
  /** Kyverno's --excludeBootstrapResources. */
  excludeBootstrapResources?: boolean;
  /** Kyverno's --webhookTimeout (default 10). */
  webhookTimeoutSeconds?: number;
}

/** What the controller keeps in step: every field of every webhook but the caBundle, and the annotations and labels. */
function rulesOf(config: Json | undefined): string {
  const path = (w: Json) => {
    const c = (w.clientConfig ?? {}) as Json;
    return c.service ? ((c.service as Json).path ?? '') : typeof c.url === 'string' ? new URL(c.url).pathname : '';
  };
  return JSON.stringify([
    ((config?.metadata ?? {}) as Json).annotations ?? {},
    ((config?.metadata ?? {}) as Json).labels ?? {},
    ((config?.webhooks ?? []) as Json[]).map((w) => [w.name, path(w), w.rules, w.failurePolicy, w.timeoutSeconds, w.matchConditions ?? [], w.namespaceSelector ?? {}, w.objectSelector ?? {}, w.sideEffects, w.matchPolicy]),
  ]);
}

/** `clientConfig` pointed at `path` (a Service's path, or the path of a URL). */
function withPath(clientConfig: Json, path: string): Json {
  if (clientConfig.service) return { ...clientConfig, service: { ...(clientConfig.service as Json), path } };
  if (typeof clientConfig.url === 'string') {
    const u = new URL(clientConfig.url);
    u.pathname = path;
    return { ...clientConfig, url: u.toString() };
  }
  return clientConfig;
}

export class WebhookController {
  private last = '';
  private running: Promise<void> = Promise.resolve();
  /** The clientConfig last seen in each configuration (by name). */
  private readonly clientConfigs = new Map<string, Json>();

  constructor(private readonly opts: ControllerOptions) {}

  /** After a certificate rotation: a remembered clientConfig carries the old caBundle. */
  forgetClientConfigs(): void {
    this.clientConfigs.clear();
  }

  /** The policies of the latest sync asked for. */
  private latest: Json[] = [];

  /**
   * Brings both configurations in line with the policies (serialised; never throws). A sync that
   * waited behind another (a certificate renewal) uses the newest policies, so an older list
   * never narrows the rules after a newer one was asked for.
   */
  sync(policies: Json[]): Promise<void> {
    this.latest = policies;
    return this.serialized(() => this.syncNow(this.latest)).catch((e: Error) => this.opts.log(`webhook controller: ${e.message}`));
  }

  /**
   * Runs `work` when no sync is in flight and holds syncs until it ends: the certificate
   * renewer rewrites the caBundle this controller copies, and a sync that read the old one
   * would otherwise force it back.
   */
  serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.running.then(work);
    this.running = result.then(() => undefined, () => undefined);
    return result;
  }

  private async syncNow(policies: Json[]): Promise<void> {
    const { client, namespace, caPem, log } = this.opts;
    const needs = await withDiscoveredKinds(
      client,
      (table) => classicWebhookNeeds(policies, table, this.opts.webhookTimeoutSeconds),
      (found) => found.some((n) => n.unresolved.length > 0),
    );
    const wanted = webhookConfigurations({ namespace, caPem: caPem ?? '', needs, policies, keepEmpty: true, localUrl: this.opts.localUrl, settings: this.opts.settings?.(), excludeBootstrapResources: this.opts.excludeBootstrapResources, webhookTimeoutSeconds: this.opts.webhookTimeoutSeconds });
    const key = JSON.stringify(wanted.map(rulesOf));
    if (key === this.last) return;
    for (const config of wanted) {
      const name = String((config.metadata as Json).name);
      const ref = { apiVersion: 'admissionregistration.k8s.io/v1', kind: String(config.kind), name };
      const current = await client.get(ref);
      if (!current && this.opts.localUrl && caPem) {
        try {
          await client.apply(config, { force: true });
          log(`webhook controller: created ${config.kind} ${name} for ${this.opts.localUrl}`);
        } catch (e) {
          log(`webhook controller: cannot create ${config.kind} ${name}: ${(e as Error).message}`);
        }
        continue;
      }
      if (!current) {
        log(`webhook controller: ${config.kind} ${name} does not exist (deploy creates it); not creating it from here`);
        continue;
      }
      if (!isOurs(current)) {
        log(`webhook controller: ${config.kind} ${name} belongs to another installation (a real Kyverno?); left alone`);
        continue;
      }
      // Keep how the API server reaches us (Service or URL, and the caBundle) as deploy set it,
      // each webhook on its own path (/validate/fail…); an empty configuration gets the
      // in-cluster Service with our CA.
      // A configuration this controller emptied (no policy needed it) has lost that clientConfig:
      // the one seen last is kept, so a local mode's URL is not replaced by the in-cluster Service.
      const seen = ((current.webhooks ?? []) as Json[])[0]?.clientConfig as Json | undefined;
      if (seen) this.clientConfigs.set(name, seen);
      const existing = seen ?? this.clientConfigs.get(name);
      if (existing) for (const w of (config.webhooks ?? []) as Json[]) w.clientConfig = withPath(existing, String(((w.clientConfig as Json).service as Json | undefined)?.path ?? new URL(String((w.clientConfig as Json).url)).pathname));
      else if (!caPem && ((config.webhooks ?? []) as Json[]).length) {
        log(`webhook controller: ${config.kind} ${name} has no webhook to take the caBundle from and no --ca-file was readable; left as it is`);
        continue;
      }
      if (rulesOf(current) === rulesOf(config)) continue;

      try {
        await client.apply(config, { force: true });
        log(`webhook controller: ${config.kind} ${name} now covers ${((config.webhooks as Json[]) ?? []).map((w) => ((w.rules as Json[]) ?? []).flatMap((r) => r.resources as string[]).join(',')).join(' | ') || 'nothing'}`);
      } catch (e) {
        if (e instanceof KubeError && e.status === 403) log(`webhook controller: not allowed to update ${name}: ${e.message}`);
        else throw e;
      }
    }
    for (const n of needs) for (const k of n.unresolved) log(`webhook controller: kind ${k} is not served by this cluster`);
    this.last = key;
  }
}

export { VALIDATING_CONFIG, MUTATING_CONFIG };
