/**
 * The part of Kyverno's configuration (its `kyverno` ConfigMap, pkg/config) that changes what
 * the engine answers: how image references without a registry are read (`defaultRegistry`,
 * `enableDefaultRegistryMutation`: the `images` variable, `image_normalize`, verifyImages'
 * digest patches, ImageValidatingPolicies' image data) and the context size limit
 * (`maxContextSize`).
 *
 * Kyverno keeps one configuration per process and every controller reads it live; so does the
 * engine. A host that follows the ConfigMap (the webhook's processes, webhook/kyverno-config.ts)
 * sets it with `configureEngine` when it changes; a host that never does (the CLI, the language
 * server) evaluates with Kyverno's defaults. Held here rather than passed per evaluation because
 * it is read deep inside evaluation (image references in JMESPath functions, CEL libraries and
 * Pod Security checks) and is one value per process, as in Kyverno.
 */
export interface EngineConfiguration {
  /** The registry of a reference that names none (Kyverno's default `docker.io`). */
  defaultRegistry: string;
  /** Whether such a reference is read with the default registry (true) or with none (false). */
  enableDefaultRegistryMutation: boolean;
  /** Bytes of JSON the context entries may add (Kyverno's DefaultMaxContextSize); 0 or less: no limit. */
  maxContextSize: number;
}

/** Kyverno's DefaultMaxContextSize (pkg/config): 2 MiB. */
export const DEFAULT_MAX_CONTEXT_SIZE = 2 * 1024 * 1024;

/** Kyverno's defaults (what its configuration holds without the ConfigMap, and what a reload resets to). */
export const DEFAULT_ENGINE_CONFIGURATION: Readonly<EngineConfiguration> = Object.freeze({
  defaultRegistry: 'docker.io',
  enableDefaultRegistryMutation: true,
  maxContextSize: DEFAULT_MAX_CONTEXT_SIZE,
});

let current: Readonly<EngineConfiguration> = DEFAULT_ENGINE_CONFIGURATION;

/** The configuration evaluations read now. */
export function engineConfiguration(): Readonly<EngineConfiguration> {
  return current;
}

/** Replaces the configuration (no argument: back to Kyverno's defaults). */
export function configureEngine(configuration: EngineConfiguration = DEFAULT_ENGINE_CONFIGURATION): void {
  const next = Object.freeze({ ...configuration });
  const same = next.defaultRegistry === current.defaultRegistry && next.enableDefaultRegistryMutation === current.enableDefaultRegistryMutation && next.maxContextSize === current.maxContextSize;
  // Unchanged values keep the same object: memos keyed on it stay valid.
  if (!same) current = next;
}
