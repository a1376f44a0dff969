/**
 * The engine surfaces the language service uses, loaded lazily: start-up stays fast, and an
 * engine module that is missing or broken degrades one feature instead of the server.
 * Exports still being built elsewhere (checkJmespath, checkCelExpression, FUNCTION_DOCS,
 * describeAutogen, KNOWN_KINDS) are looked up by name and may be absent.
 */
type Module = Record<string, unknown>;
const cache = new Map<string, Module | null>();

function load(name: 'jmespath' | 'cel' | 'autogen' | 'apply' | 'kube'): Module | null {
  if (cache.has(name)) return cache.get(name)!;
  let mod: Module | null = null;
  try {
    // Literal paths so the bundler includes each module.
    switch (name) {
      case 'jmespath': mod = require('../../../engine/jmespath'); break;
      case 'cel': mod = require('../../../engine/cel'); break;
      case 'autogen': mod = require('../../../engine/autogen'); break;
      case 'apply': mod = require('../../../engine/apply'); break;
      case 'kube': mod = require('../../../engine/kube'); break;
    }
  } catch {
    mod = null;
  }
  cache.set(name, mod);
  return mod;
}

export function engineExport<T>(module: 'jmespath' | 'cel' | 'autogen' | 'apply' | 'kube', name: string): T | undefined {
  const v = load(module)?.[name];
  return v === undefined ? undefined : (v as T);
}
