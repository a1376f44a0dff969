// STUB (owner: jmespath helper replaces this file). Public surface other modules rely on.
import { search } from '@jmespath-community/jmespath';

export class JmespathError extends Error {}

/** Evaluates a JMESPath expression (Kyverno's dialect, with its custom functions) on data. */
export function jmesSearch(expression: string, data: unknown): unknown {
  try {
    return search(data as never, expression);
  } catch (e) {
    throw new JmespathError((e as Error).message);
  }
}
