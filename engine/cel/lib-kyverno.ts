/**
 * Kyverno's CEL libraries, answered from the offline cluster state: generator.Apply,
 * jsonpatch.escapeKey, time.*. resource.*, http.* and globalContext.* live in lib-cluster, the
 * image libraries in lib-image, the data ones (json, yaml, x509, hash, random, transform,
 * gzip, user) in lib-data.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ClusterState, JsonObject } from '../core/types';
import { clusterLibraryActivation, registerClusterLibraries, requireScope, type ClusterLibraryRuntime } from './lib-cluster';
import { fromCel, isCelDuration } from './values';
import { ImageDataLib } from './lib-image';

/** What a Kyverno library call can see during one evaluation. */
export interface CelRuntime extends ClusterLibraryRuntime {
  cluster: ClusterState;
  now: Date;
  /** Resources handed to generator.Apply, in call order. */
  generated: JsonObject[];
}

export class GeneratorLib { constructor(readonly rt: CelRuntime) {} }
export class JsonPatchLib {}
export class TimeLib { constructor(readonly rt: CelRuntime) {} }

export function kyvernoActivation(rt: CelRuntime): Record<string, unknown> {
  return {
    ...clusterLibraryActivation(rt),
    image: new ImageDataLib(rt),
    generator: new GeneratorLib(rt),
    time: new TimeLib(rt),
  };
}

/** Whose generator library an environment declares: a cluster-wide policy's or a Namespaced* policy's. */
export type GeneratorScope = 'cluster' | 'namespaced';

/**
 * `generatorScope` declares only that scope's generator form (a type-checking environment for
 * one policy); without it both forms exist and a call in the wrong scope fails when it runs.
 */
export function registerKyvernoLibraries(env: Environment, generatorScope?: GeneratorScope): void {
  registerClusterLibraries(env);
  env
    .registerType('generator.Context', GeneratorLib)
    .registerType('JsonPatchLib', JsonPatchLib)
    .registerType('TimeLib', TimeLib)
    .registerVariable('generator', 'generator.Context')
    .registerVariable('time', 'TimeLib')
    .registerConstant('jsonpatch', 'JsonPatchLib', new JsonPatchLib());

  // Kyverno 1.18 added the camel-case spelling beside Apply. A Namespaced* policy compiles the
  // library with its namespace (sdk generator.Lib's namespacedEnv): only the form without a
  // namespace argument exists there, generating into the policy's namespace; the other form
  // exists only for cluster-wide policies.
  for (const apply of ['Apply', 'apply']) {
    if (generatorScope !== 'namespaced') {
      env.registerFunction(`generator.Context.${apply}(string, list<map<string, dyn>>): bool`, (l: GeneratorLib, ns: string, items: unknown[]) => {
        requireScope(l.rt, 'cluster', apply, 'string, list(map(string, dyn))', 'generator.Context');
        return generatorApply(l, ns, items);
      });
    }
    if (generatorScope !== 'cluster') {
      env.registerFunction(`generator.Context.${apply}(list<map<string, dyn>>): bool`, (l: GeneratorLib, items: unknown[]) => {
        requireScope(l.rt, 'namespaced', apply, 'list(map(string, dyn))', 'generator.Context');
        return generatorApply(l, l.rt.policyNamespace ?? '', items);
      });
    }
  }
  env
    .registerFunction('JsonPatchLib.escapeKey(string): string', (_l: JsonPatchLib, k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1'))
    .registerFunction('TimeLib.now(): google.protobuf.Timestamp', (l: TimeLib) => l.rt.now)
    .registerFunction('TimeLib.truncate(google.protobuf.Timestamp, google.protobuf.Duration): google.protobuf.Timestamp', (_l: TimeLib, t: Date, d: unknown) => truncateTime(t, d))
    .registerFunction('TimeLib.toCron(google.protobuf.Timestamp): string', (_l: TimeLib, t: Date) => toCron(t));
}

/**
 * The CLI's GenerateResources: a list object (one with an `items` array) stands for its items,
 * and every generated resource gets the call's namespace (none when it is empty).
 */
function generatorApply(l: GeneratorLib, ns: string, data: unknown[]): boolean {
  return generateResources(l.rt, ns, data);
}

/** The generation runtime both generator.Apply and GeneratingPolicy templates feed. */
export function generateResources(rt: { generated: JsonObject[] }, ns: string, data: unknown[]): boolean {
  const inNamespace = (obj: JsonObject): JsonObject => {
    const meta = { ...((obj.metadata ?? {}) as JsonObject) };
    if (ns) meta.namespace = ns;
    else delete meta.namespace;
    return { ...obj, metadata: meta };
  };
  for (const entry of data) {
    const obj = fromCel(entry) as JsonObject;
    if (Array.isArray(obj.items)) {
      for (const item of obj.items) if (item && typeof item === 'object' && !Array.isArray(item)) rt.generated.push(inNamespace(item as JsonObject));
    } else {
      rt.generated.push(inNamespace(obj));
    }
  }
  return true;
}

/** Nanoseconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch. */
const ZERO_TO_UNIX_NS = 62135596800n * 1_000_000_000n;

/** Go's Time.Truncate: rounds down to a multiple of d since the zero time; d <= 0 leaves t alone. */
function truncateTime(t: Date, d: unknown): Date {
  if (!isCelDuration(d)) throw new Error('time.truncate: no such overload');
  const step = d.seconds * 1_000_000_000n + BigInt(d.nanos);
  if (step <= 0n) return t;
  const sinceZero = BigInt(t.getTime()) * 1_000_000n + ZERO_TO_UNIX_NS;
  const truncated = sinceZero - (((sinceZero % step) + step) % step);
  return new Date(Number((truncated - ZERO_TO_UNIX_NS) / 1_000_000n));
}

/** time.toCron: "minute hour day month weekday" of the timestamp (UTC, Sunday = 0). */
function toCron(t: Date): string {
  return [t.getUTCMinutes(), t.getUTCHours(), t.getUTCDate(), t.getUTCMonth() + 1, t.getUTCDay()].join(' ');
}
