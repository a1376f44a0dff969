/**
 * Chainsaw's operation timeouts: an operation's own `timeout`, else the step's `timeouts`, the
 * test's, the configuration file Kyverno's CI passes (`--config .chainsaw.yaml` in the area's
 * folder), then chainsaw's defaults. Offline they bound how far the scenario's clock may run
 * while an assertion waits for a time-driven controller.
 */
import { join } from 'node:path';
import { asObject } from '../../engine/core/json';
import { parseDuration } from '../../engine/units';
import { yamlFile } from './install';
import { DEFAULT_EXEC_TIMEOUT_MS } from './shell';

/** Timeouts by operation (`apply`, `assert`, `error`, `delete`, `exec`, `cleanup`), as duration strings. */
export type Timeouts = Record<string, string>;

/** Chainsaw's defaults (pkg/apis/v1alpha1 DefaultTimeouts). */
const DEFAULTS: Record<string, number> = { apply: 5_000, assert: 30_000, cleanup: 30_000, delete: 15_000, error: 30_000, exec: DEFAULT_EXEC_TIMEOUT_MS };

/** The timeouts of a block (`spec.timeouts` of a configuration or test, a step's `timeouts`), as strings. */
export function timeoutsOf(block: unknown): Timeouts {
  const out: Timeouts = {};
  for (const [k, v] of Object.entries(asObject(block))) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The timeouts of the configuration Kyverno's CI runs an area with (`<tests-path>/.chainsaw.yaml`), if any. */
export function chainsawTimeouts(root: string, testsPath: string): Timeouts {
  return timeoutsOf(asObject(yamlFile(join(root, testsPath, '.chainsaw.yaml')).spec).timeouts);
}

/** An operation's timeout in milliseconds: its own, else the timeouts in force, else chainsaw's default. */
export function timeoutMs(operation: string, own: unknown, timeouts: Timeouts): number {
  for (const text of [own, timeouts[operation]]) {
    if (typeof text !== 'string') continue;
    const ns = parseDuration(text);
    if (typeof ns === 'number' && ns >= 0) return ns / 1e6;
  }
  return DEFAULTS[operation] ?? 30_000;
}
