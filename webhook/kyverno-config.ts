/**
 * Kyverno's configuration ConfigMap (`kyverno` in Kyverno's namespace; pkg/config/config.go),
 * read and watched by `serve --in-cluster` so that a cluster configured for Kyverno configures
 * us the same way, live. Kyverno reloads the whole ConfigMap on every change (each key back to
 * its default, then the keys present applied); here the defaults a key falls back to are our
 * serve flags (`--resource-filters`, `--exclude-*`, `--generate-success-events`), so a
 * cluster without the ConfigMap behaves as the flags say.
 *
 * Keys read: see CONFIG_KEYS_READ. Keys Kyverno reads that we do not (CONFIG_KEYS_NOT_READ)
 * are reported once in the log when present, never silently dropped.
 */
import { asObject } from '../engine/core/json';
import type { JsonObject } from '../engine/core/types';
import type { KubeClient } from '../kube-api/client';
import { watchKinds } from '../kube-api/watch';
import type { UserExclusionSettings } from './user-filters';

/** The part of Kyverno's configuration we apply. */
export interface KyvernoConfiguration {
  /** `resourceFilters`: "[Kind,Namespace,Name]..." (resource-filters.ts). */
  resourceFilters: string;
  /** `excludeUsernames`, `excludeGroups`, `excludeRoles`, `excludeClusterRoles`. */
  userExclusions: UserExclusionSettings;
  /** `generateSuccessEvents`. */
  successEvents: boolean;
  /** `successEventActions`: when not empty, only PolicyApplied events with one of these actions. */
  successEventActions: string[];
}

export const CONFIG_KEYS_READ = ['resourceFilters', 'excludeGroups', 'excludeUsernames', 'excludeRoles', 'excludeClusterRoles', 'generateSuccessEvents', 'successEventActions'] as const;
export const CONFIG_KEYS_NOT_READ = ['defaultRegistry', 'enableDefaultRegistryMutation', 'webhooks', 'webhookAnnotations', 'webhookLabels', 'matchConditions', 'updateRequestThreshold', 'maxContextSize'] as const;

/** Kyverno's name for its ConfigMap (its chart's `config.name` default). */
export const KYVERNO_CONFIG_MAP = 'kyverno';

/** Go's strconv.ParseBool. */
function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/**
 * The configuration a ConfigMap's data gives (Kyverno's `load`): every key read starts from
 * `defaults`, and a key present replaces it. A value Kyverno refuses (a boolean that is not
 * one) keeps the default and is logged, as Kyverno logs it. No data (the ConfigMap absent or
 * deleted): the defaults.
 */
export function configurationOf(data: unknown, defaults: KyvernoConfiguration, log: (line: string) => void = () => undefined): KyvernoConfiguration {
  const d = asObject(data);
  const text = (key: string): string | undefined => (typeof d[key] === 'string' ? (d[key] as string) : d[key] === undefined || d[key] === null ? undefined : String(d[key]));
  const out: KyvernoConfiguration = { ...defaults, userExclusions: { ...defaults.userExclusions } };
  const filters = text('resourceFilters');
  if (filters !== undefined) out.resourceFilters = filters;
  for (const key of ['excludeUsernames', 'excludeGroups', 'excludeRoles', 'excludeClusterRoles'] as const) {
    const v = text(key);
    if (v !== undefined) out.userExclusions[key] = v;
  }
  const success = text('generateSuccessEvents');
  if (success !== undefined) {
    const parsed = parseGoBool(success);
    if (parsed === undefined) log(`configuration: generateSuccessEvents is not a boolean (${JSON.stringify(success)}); keeping ${defaults.successEvents}`);
    else out.successEvents = parsed;
  }
  const actions = text('successEventActions');
  if (actions !== undefined) out.successEventActions = actions.split(',').map((a) => a.trim()).filter(Boolean);
  return out;
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
  private warnedNotRead = new Set<string>();
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
    const data = asObject(configMap?.data);
    for (const key of CONFIG_KEYS_NOT_READ) {
      if (data[key] !== undefined && !this.warnedNotRead.has(key)) {
        this.warnedNotRead.add(key);
        this.log(`configuration: ${key} is set in the ConfigMap; kyverno-studio does not apply it`);
      }
    }
    this.config = configurationOf(data, this.defaults, this.log);
    this.markLoaded();
    for (const l of this.listeners) l(this.config);
  }

  /** Follows `source` until `signal` aborts. */
  watch(source: ConfigMapSource, signal: AbortSignal): void {
    source((configMap) => this.load(configMap), signal);
  }
}
