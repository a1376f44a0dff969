/**
 * Kyverno's configuration ConfigMap (`kyverno` in Kyverno's namespace; pkg/config/config.go),
 * read and watched by `serve --in-cluster` so that a cluster configured for Kyverno configures
 * us the same way, live. Kyverno reloads the whole ConfigMap on every change (each key back to
 * its default, then the keys present applied); here the defaults a key falls back to are our
 * serve flags (`--resource-filters`, `--exclude-*`, `--generate-success-events`) and, for the
 * keys without a flag, Kyverno's defaults or, where ours deliberately differ (the webhooks'
 * namespace selector, which also leaves out our own namespace; the chart's AKS annotation),
 * ours: `configurationDefaults`. A cluster without the ConfigMap behaves as those say.
 *
 * Each key is applied in one place: the resource filters, user exclusions and success events
 * by the server processes and the event writer; `webhooks`, `webhookAnnotations`,
 * `webhookLabels` and `matchConditions` by the webhook configurations (configurations.ts);
 * `defaultRegistry`, `enableDefaultRegistryMutation` and `maxContextSize` by the engine
 * (engine/core/configuration.ts, set in every process that evaluates); `updateRequestThreshold`
 * by the background controller when it writes an UpdateRequest (background.ts).
 */
import { isIP } from 'node:net';
import { asObject } from '../engine/core/json';
import type { JsonObject } from '../engine/core/types';
import { DEFAULT_ENGINE_CONFIGURATION, type EngineConfiguration } from '../engine/core/configuration';
import { goJsonUnmarshal } from '../engine/core/go-json';
import { Quantity } from '../engine/units';
import type { KubeClient } from '../kube-api/client';
import { watchKinds } from '../kube-api/watch';
import { defaultNamespaceSelector, defaultWebhookSettings, type LabelSelector, type MatchCondition, type WebhookSettings } from './configurations';
import type { UserExclusionSettings } from './user-filters';
import { goJsonTypeName } from '../engine/core/go-json';
import { parseGoBool } from '../io/args';

/** Kyverno's configuration, as we apply it. */
export interface KyvernoConfiguration {
  /** `resourceFilters`: "[Kind,Namespace,Name]..." (resource-filters.ts). */
  resourceFilters: string;
  /** `excludeUsernames`, `excludeGroups`, `excludeRoles`, `excludeClusterRoles`. */
  userExclusions: UserExclusionSettings;
  /** `generateSuccessEvents`. */
  successEvents: boolean;
  /** `successEventActions`: when not empty, only PolicyApplied events with one of these actions. */
  successEventActions: string[];
  /** `defaultRegistry`, `enableDefaultRegistryMutation`, `maxContextSize`: what the engine reads. */
  engine: EngineConfiguration;
  /** `webhooks` (namespaceSelector, objectSelector), `webhookAnnotations`, `webhookLabels`, `matchConditions`. */
  webhooks: WebhookSettings;
  /** `updateRequestThreshold`: how many UpdateRequests may exist before no more are written. */
  updateRequestThreshold: number;
  /** The namespace we run in: the default namespace selector leaves it out (configurations.ts). */
  namespace: string;
}

/** The settings with serve flags, which the ConfigMap's keys override. */
export type ConfigurationFlags = Pick<KyvernoConfiguration, 'resourceFilters' | 'userExclusions' | 'successEvents' | 'successEventActions'>;

export const CONFIG_KEYS_READ = [
  'resourceFilters', 'excludeGroups', 'excludeUsernames', 'excludeRoles', 'excludeClusterRoles', 'generateSuccessEvents', 'successEventActions',
  'defaultRegistry', 'enableDefaultRegistryMutation', 'webhooks', 'webhookAnnotations', 'webhookLabels', 'matchConditions', 'updateRequestThreshold', 'maxContextSize',
] as const;

/** Kyverno's name for its ConfigMap (its chart's `config.name` default). */
export const KYVERNO_CONFIG_MAP = 'kyverno';

/** Kyverno's UpdateRequestThreshold default. */
export const DEFAULT_UPDATE_REQUEST_THRESHOLD = 1000;

/** What each key falls back to: the flags, else Kyverno's defaults (ours for the webhooks, in `namespace`). */
export function configurationDefaults(flags: ConfigurationFlags, namespace: string): KyvernoConfiguration {
  return {
    ...flags,
    engine: { ...DEFAULT_ENGINE_CONFIGURATION },
    webhooks: defaultWebhookSettings(namespace, flags.resourceFilters),
    updateRequestThreshold: DEFAULT_UPDATE_REQUEST_THRESHOLD,
    namespace,
  };
}

/** A value Go's json.Unmarshal refuses for the type named (the key keeps its default). */
class DecodeError extends Error {}

/** A struct field as encoding/json fills it: each key equal to the name, exactly or ignoring case, is assigned in document order, so the last one wins. */
function goField(obj: Record<string, unknown>, name: string): unknown {
  let found: unknown;
  for (const [k, v] of Object.entries(obj)) if (k === name || k.toLowerCase() === name.toLowerCase()) found = v;
  return found;
}

/** A JSON object decoded into a Go struct; null is the zero value (undefined here). */
function goStruct(v: unknown, type: string): Record<string, unknown> | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new DecodeError(`json: cannot unmarshal ${goJsonTypeName(v)} into Go value of type ${type}`);
  return v as Record<string, unknown>;
}

function goString(v: unknown, type: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') throw new DecodeError(`json: cannot unmarshal ${goJsonTypeName(v)} into Go value of type ${type}`);
  return v;
}

/** map[string]string: null is no map. */
function goStringMap(v: unknown, type: string): Record<string, string> | undefined {
  const obj = goStruct(v, type);
  if (!obj) return undefined;
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(obj)) out[k] = goString(value, 'string');
  return out;
}

function goList<T>(v: unknown, type: string, item: (x: unknown) => T): T[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (!Array.isArray(v)) throw new DecodeError(`json: cannot unmarshal ${goJsonTypeName(v)} into Go value of type ${type}`);
  return v.map(item);
}

/** metav1.LabelSelector, only its fields (unknown ones are dropped, as Go drops them). */
function labelSelector(v: unknown): LabelSelector | undefined {
  const obj = goStruct(v, 'v1.LabelSelector');
  if (!obj) return undefined;
  const matchLabels = goStringMap(goField(obj, 'matchLabels'), 'map[string]string');
  const matchExpressions = goList(goField(obj, 'matchExpressions'), '[]v1.LabelSelectorRequirement', (e) => {
    const r = goStruct(e, 'v1.LabelSelectorRequirement') ?? {};
    const values = goList(goField(r, 'values'), '[]string', (x) => goString(x, 'string'));
    return { key: goString(goField(r, 'key'), 'string'), operator: goString(goField(r, 'operator'), 'v1.LabelSelectorOperator'), ...(values?.length ? { values } : {}) };
  });
  // Empty fields are left out, as Go's omitempty writes the selector.
  return { ...(matchLabels && Object.keys(matchLabels).length ? { matchLabels } : {}), ...(matchExpressions?.length ? { matchExpressions } : {}) };
}

/** Kyverno's parseWebhooks: a WebhookConfig (namespaceSelector, objectSelector). */
function parseWebhooks(text: string): Pick<WebhookSettings, 'namespaceSelector' | 'objectSelector'> {
  const obj = goStruct(goJsonUnmarshal(text), 'config.WebhookConfig') ?? {};
  const namespaceSelector = labelSelector(goField(obj, 'namespaceSelector'));
  const objectSelector = labelSelector(goField(obj, 'objectSelector'));
  return { ...(namespaceSelector ? { namespaceSelector } : {}), ...(objectSelector ? { objectSelector } : {}) };
}

/** Kyverno's parseWebhookAnnotations / parseWebhookLabels: a map[string]string (null: none). */
function parseStringMap(text: string): Record<string, string> {
  return goStringMap(goJsonUnmarshal(text), 'map[string]string') ?? {};
}

/** Kyverno's parseMatchConditions: a []admissionregistrationv1.MatchCondition (null: none). */
function parseMatchConditions(text: string): MatchCondition[] {
  return goList(goJsonUnmarshal(text), '[]v1.MatchCondition', (c) => {
    const obj = goStruct(c, 'v1.MatchCondition') ?? {};
    return { name: goString(goField(obj, 'name'), 'string'), expression: goString(goField(obj, 'expression'), 'string') };
  }) ?? [];
}

// govalidator's DNSName pattern, which Kyverno checks a defaultRegistry's host against.
const DNS_NAME = /^([a-zA-Z0-9_]{1}[a-zA-Z0-9_-]{0,62}){1}(\.[a-zA-Z0-9_]{1}[a-zA-Z0-9_-]{0,62})*[._]?$/;

/** govalidator.IsDNSName. */
function isDnsName(host: string): boolean {
  if (host === '' || host.replaceAll('.', '').length > 255) return false;
  return isIP(host) === 0 && DNS_NAME.test(host);
}

/** Go's strconv.ParseInt(text, 10, 64), within JavaScript's safe integers; undefined when it refuses. */
function parseGoInt(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const n = BigInt(text);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return Number(n);
}

/**
 * The configuration a ConfigMap's data gives (Kyverno's `load`): every key read starts from
 * `defaults`, and a key present replaces it. A value Kyverno refuses (a boolean that is not
 * one, JSON that does not decode, a registry that is not a DNS name...) keeps the default and
 * is logged, as Kyverno logs it. No data (the ConfigMap absent or deleted): the defaults.
 */
export function configurationOf(data: unknown, defaults: KyvernoConfiguration, log: (line: string) => void = () => undefined): KyvernoConfiguration {
  const d = asObject(data);
  const text = (key: string): string | undefined => (typeof d[key] === 'string' ? (d[key] as string) : d[key] === undefined || d[key] === null ? undefined : String(d[key]));
  const out: KyvernoConfiguration = { ...defaults, userExclusions: { ...defaults.userExclusions }, engine: { ...defaults.engine }, webhooks: { ...defaults.webhooks } };
  const filters = text('resourceFilters');
  if (filters !== undefined) out.resourceFilters = filters;
  for (const key of ['excludeUsernames', 'excludeGroups', 'excludeRoles', 'excludeClusterRoles'] as const) {
    const v = text(key);
    if (v !== undefined) out.userExclusions[key] = v;
  }
  const boolean = (key: string, fallback: boolean, set: (value: boolean) => void) => {
    const value = text(key);
    if (value === undefined) return;
    const parsed = parseGoBool(value);
    if (parsed === undefined) log(`configuration: ${key} is not a boolean (${JSON.stringify(value)}); keeping ${fallback}`);
    else set(parsed);
  };
  boolean('generateSuccessEvents', defaults.successEvents, (v) => (out.successEvents = v));
  const actions = text('successEventActions');
  if (actions !== undefined) out.successEventActions = actions.split(',').map((a) => a.trim()).filter(Boolean);
  const registry = text('defaultRegistry');
  if (registry !== undefined) {
    if (isDnsName(registry.split('/')[0])) out.engine.defaultRegistry = registry;
    else log(`configuration: defaultRegistry ${JSON.stringify(registry)} is not a valid DNS hostname; keeping ${defaults.engine.defaultRegistry}`);
  }
  boolean('enableDefaultRegistryMutation', defaults.engine.enableDefaultRegistryMutation, (v) => (out.engine.enableDefaultRegistryMutation = v));
  const decoded = <T>(key: string, decode: (value: string) => T, set: (value: T) => void) => {
    const value = text(key);
    if (value === undefined) return;
    try {
      set(decode(value));
    } catch (e) {
      log(`configuration: failed to parse ${key} (${(e as Error).message}); keeping the default`);
    }
  };
  // Without `webhooks`, our default selector follows the filters: it leaves out the namespaces they exclude whole.
  if (filters !== undefined && text('webhooks') === undefined) out.webhooks.namespaceSelector = defaultNamespaceSelector(out.namespace, filters);
  // A key set wins whole, as in Kyverno: `webhooks` without a namespaceSelector selects every namespace.
  decoded('webhooks', parseWebhooks, (v) => {
    const { namespaceSelector: _ns, objectSelector: _obj, ...rest } = out.webhooks;
    out.webhooks = { ...rest, ...v };
  });
  decoded('webhookAnnotations', parseStringMap, (v) => (out.webhooks.annotations = v));
  decoded('webhookLabels', parseStringMap, (v) => (out.webhooks.labels = v));
  decoded('matchConditions', parseMatchConditions, (v) => (out.webhooks.matchConditions = v));
  const threshold = text('updateRequestThreshold');
  if (threshold !== undefined) {
    const parsed = parseGoInt(threshold);
    if (parsed === undefined) log(`configuration: updateRequestThreshold is not an integer (${JSON.stringify(threshold)}); keeping ${defaults.updateRequestThreshold}`);
    else out.updateRequestThreshold = parsed;
  }
  const size = text('maxContextSize');
  if (size !== undefined) {
    const quantity = Quantity.tryParse(size);
    if (!quantity) log(`configuration: maxContextSize is not a valid quantity (${JSON.stringify(size)}; use formats like 100Mi, 2Gi, or plain bytes); keeping ${defaults.engine.maxContextSize}`);
    else out.engine.maxContextSize = quantityValue(quantity);
  }
  return out;
}

/** resource.Quantity's Value(): the integer value, rounded away from zero. */
function quantityValue(q: Quantity): number {
  const sign = q.unscaled < 0n ? -1n : 1n;
  const magnitude = q.unscaled * sign;
  let value: bigint;
  if (q.scale <= 0) value = magnitude * 10n ** BigInt(-q.scale);
  else {
    const div = 10n ** BigInt(q.scale);
    value = (magnitude + div - 1n) / div;
  }
  return Number(value * sign);
}

/** A ConfigMap's changes: called with the object, or undefined when it is absent or deleted. */
export type ConfigMapSource = (onChange: (configMap: JsonObject | undefined) => void, signal: AbortSignal) => void;

/** The ConfigMap `name` in `namespace`, listed and watched on the API server (only that object). */
export function apiServerConfigMap(client: KubeClient, namespace: string, name: string, log: (line: string) => void): ConfigMapSource {
  return (onChange, signal) => {
    void watchKinds(client, [{ apiVersion: 'v1', kind: 'ConfigMap', namespace, fieldSelector: `metadata.name=${name}` }], (store) => {
      onChange([...store.objects.values()][0] as JsonObject | undefined);
    }, log, signal, 0);
  };
}

/** Kyverno's configuration as it changes: `current` now, `onChange` listeners after each load. */
export class KyvernoConfigWatcher {
  private config: KyvernoConfiguration;
  private readonly listeners: Array<(config: KyvernoConfiguration) => void> = [];
  private markLoaded: () => void = () => undefined;
  /** Resolves once the source has answered (the ConfigMap, or that there is none). */
  readonly loaded = new Promise<void>((resolve) => (this.markLoaded = resolve));

  constructor(
    private readonly defaults: KyvernoConfiguration,
    private readonly log: (line: string) => void,
  ) {
    this.config = defaults;
  }

  current(): KyvernoConfiguration {
    return this.config;
  }

  onChange(listener: (config: KyvernoConfiguration) => void): void {
    this.listeners.push(listener);
  }

  /** Applies a ConfigMap (undefined: back to the defaults) and tells the listeners. */
  load(configMap: JsonObject | undefined): void {
    this.config = configurationOf(configMap?.data, this.defaults, this.log);
    this.markLoaded();
    for (const l of this.listeners) l(this.config);
  }

  /** Follows `source` until `signal` aborts. */
  watch(source: ConfigMapSource, signal: AbortSignal): void {
    source((configMap) => this.load(configMap), signal);
  }
}
