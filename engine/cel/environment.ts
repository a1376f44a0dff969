/**
 * The one CEL environment every Kyverno/Kubernetes CEL expression compiles in: cel-js with
 * optional types, heterogeneous literals, undeclared variables as dyn (policies reference
 * `object`, `variables`, `params`… whose shape only the resource knows), plus the
 * Kubernetes and Kyverno libraries.
 */
import { Environment } from '@marcbachmann/cel-js';
import { instrumentComprehensions, rewriteExpression } from './rewrite';
import { registerStringLibraries } from './lib-strings';
import { registerNetworkLibraries } from './lib-network';
import { registerQuantityLibraries } from './lib-quantity';
import { registerKyvernoLibraries, type GeneratorScope } from './lib-kyverno';
import { registerCoreGaps } from './lib-core';
import { registerMathLibrary } from './lib-math';
import { registerComprehensions } from './lib-comprehensions';
import { registerDataLibraries } from './lib-data';
import { registerImageLibraries } from './lib-image';
import { registerImageVerifyLibrary } from './image-validating-policy';
import { registerFormatLibrary } from './lib-format';
import { registerAuthorizerLibrary } from './lib-authorizer';
import { meterConcatenation, withCostBudget } from './budget';
import { isBudgetExceeded } from '../core/budget';
import { typeOfCel } from './values';

type Compiled = ((context?: Record<string, unknown>) => unknown) & { check?: () => { valid: boolean; type?: string; error?: Error } };

let sharedEnv: Environment | undefined;
/** The checking environments' bases, by the generator scope they declare ('' = both), or the API server's (`apiServer:<authorizer>`). */
const checkingBases = new Map<string, Environment>();

/** Variables every Kyverno/Kubernetes CEL expression may reference (besides the libraries). */
export const CEL_VARIABLES = ['object', 'oldObject', 'request', 'params', 'namespaceObject', 'variables', 'authorizer', 'exceptions'] as const;

/**
 * The variables of the API server's admission environment (k8s.io/apiserver plugin/cel
 * compile.go), besides `params`, `authorizer` and `variables`, which its callers declare or not.
 */
const API_SERVER_VARIABLES = ['object', 'oldObject', 'request', 'namespaceObject'] as const;

/**
 * `apiServer`: a checking environment with only what the API server's admission environment
 * offers (k8s.io/apiserver pkg/cel/environment base.go): Kubernetes' libraries (strings, lists,
 * sets, regex, urls, ip/cidr, quantity, semver, format, authz, image, two-variable
 * comprehensions) and none of Kyverno's (resource, http, globalContext, generator, time,
 * json/yaml/x509/hash/random..., imagedata, image verification), nor cel-go's Math and
 * Encoders, which the admission environment does not register. Known excess: the string and
 * list library here also carries cel-go's ext.Lists and the regex namespace.
 */
function buildEnvironment(strict: boolean, generatorScope?: GeneratorScope, apiServer = false): Environment {
  const env = new Environment({
    unlistedVariablesAreDyn: !strict,
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
    limits: CEL_LIMITS,
  });
  registerCoreGaps(env, { encoders: !apiServer });
  registerStringLibraries(env);
  registerNetworkLibraries(env);
  registerQuantityLibraries(env);
  if (!apiServer) registerKyvernoLibraries(env, generatorScope);
  registerImageLibraries(env, { imageData: !apiServer });
  if (!apiServer) registerImageVerifyLibrary(env);
  registerFormatLibrary(env);
  if (!apiServer) registerMathLibrary(env);
  registerComprehensions(env);
  if (!apiServer) registerDataLibraries(env);
  registerAuthorizerLibrary(env);
  // `variables` and `params` are declared per check (checkingEnvironmentFor), from the policy.
  if (strict) {
    const declared: readonly string[] = apiServer ? API_SERVER_VARIABLES : CEL_VARIABLES;
    for (const name of declared) if (name !== 'variables' && name !== 'params') env.registerVariable(name, 'dyn');
  } else {
    // Only the evaluating environment runs handlers (the strict one only type-checks).
    meterConcatenation(env);
  }
  return env;
}

/** An environment where only the declared variables exist, for diagnostics. */
export function celCheckingEnvironment(): Environment {
  return checkingEnvironmentFor({});
}

export interface CheckingDeclarations {
  /** Declared policy variables and their CEL types; undefined: `variables` is dyn. */
  variables?: Record<string, string>;
  /** Whether `params` exists (default true, typed dyn). */
  params?: boolean;
  /**
   * Whose generator library the expression compiles against: a cluster-wide policy's
   * (generator.apply(namespace, list)) or a Namespaced* policy's (generator.apply(list));
   * undefined: both forms type-check.
   */
  generatorScope?: GeneratorScope;
  /**
   * The API server's admission environment instead of Kyverno's (buildEnvironment), with
   * `authorizer` declared or not; `params` as above, `variables` only when declared.
   */
  apiServer?: { authorizer: boolean };
}

class DeclaredVariables {}
const checkingEnvs = new Map<string, Environment>();

/** The checking environment with `variables.<name>` typed per declaration and `params` present or not. */
export function checkingEnvironmentFor(decls: CheckingDeclarations): Environment {
  const scope = decls.apiServer ? `apiServer:${decls.apiServer.authorizer}` : decls.generatorScope ?? '';
  const key = JSON.stringify([decls.variables ?? null, decls.params ?? true, scope]);
  let env = checkingEnvs.get(key);
  if (env) return env;
  let checkingEnv = checkingBases.get(scope);
  if (!checkingEnv) {
    checkingEnv = buildEnvironment(true, decls.generatorScope, decls.apiServer !== undefined);
    if (decls.apiServer?.authorizer) checkingEnv.registerVariable('authorizer', 'dyn');
    checkingBases.set(scope, checkingEnv);
  }
  env = checkingEnv.clone();
  if (decls.params ?? true) env.registerVariable('params', 'dyn');
  if (decls.variables) {
    const typeName = `kyverno.Variables${checkingEnvs.size}`;
    try {
      env.registerType(typeName, { ctor: DeclaredVariables, fields: decls.variables });
    } catch {
      // An inferred type cel-js cannot declare as a field: fall back to dyn fields.
      env = checkingEnv.clone();
      if (decls.params ?? true) env.registerVariable('params', 'dyn');
      env.registerType(typeName, { ctor: DeclaredVariables, fields: Object.fromEntries(Object.keys(decls.variables).map((k) => [k, 'dyn'])) });
    }
    env.registerVariable('variables', typeName);
  } else if (!decls.apiServer) {
    env.registerVariable('variables', 'dyn');
  }
  if (checkingEnvs.size >= 200) checkingEnvs.clear();
  checkingEnvs.set(key, env);
  return env;
}
const compiledCache = new Map<string, Compiled>();
const MAX_COMPILED = 2000;

export const CEL_LIMITS = { maxAstNodes: 20000, maxDepth: 200, maxListElements: 5000, maxMapEntries: 5000, maxCallArguments: 32 };

export function celEnvironment(): Environment {
  sharedEnv ??= buildEnvironment(false);
  return sharedEnv;
}

/** A CEL compile or evaluation failure with a message in cel-go's spirit. */
export class CelError extends Error {
  constructor(message: string, readonly phase: 'compile' | 'evaluate') {
    super(message);
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0];
}

/** Longer expressions are refused before any work (rewrites and parsing are linear-ish, not free). */
export const MAX_EXPRESSION_LENGTH = 100_000;

/**
 * An environment and its compiled-expression cache. The default dialect is the one every
 * Kubernetes-mode expression uses; the authorization modes (engine/cel/authz-policy) have
 * their own, with the Envoy/HTTP libraries on top of it.
 */
export interface CelDialect {
  environment: () => Environment;
  cache: Map<string, Compiled>;
}

const defaultDialect: CelDialect = { environment: celEnvironment, cache: compiledCache };

/** A dialect whose environment is the shared one plus `extend`'s registrations (built on first use). */
export function extendedDialect(extend: (env: Environment) => void): CelDialect {
  let env: Environment | undefined;
  return {
    environment: () => {
      if (!env) {
        env = buildEnvironment(false);
        extend(env);
      }
      return env;
    },
    cache: new Map(),
  };
}

export function compileCel(expression: string, dialect: CelDialect = defaultDialect): Compiled {
  const cache = dialect.cache;
  let fn = cache.get(expression);
  if (fn) return fn;
  if (expression.length > MAX_EXPRESSION_LENGTH) throw new CelError(`compilation error: expression longer than ${MAX_EXPRESSION_LENGTH} characters`, 'compile');
  try {
    fn = dialect.environment().parse(instrumentComprehensions(rewriteExpression(expression))) as unknown as Compiled;
  } catch (err) {
    throw new CelError(`compilation error: ${firstLine(err)}`, 'compile');
  }
  if (cache.size >= MAX_COMPILED) cache.clear();
  cache.set(expression, fn);
  return fn;
}

/** Evaluates an expression; throws CelError with a single-line message on failure. */
export function evalCel(expression: string, activation: Record<string, unknown>, dialect: CelDialect = defaultDialect): unknown {
  const fn = compileCel(expression, dialect);
  try {
    const out = withCostBudget(() => fn(activation));
    if (out && typeof (out as Promise<unknown>).then === 'function') throw new Error('asynchronous CEL functions are not supported');
    return out;
  } catch (err) {
    // An evaluation-wide budget (memory, deadline) stays recognisable: it is never a value.
    if (err instanceof CelError || isBudgetExceeded(err)) throw err;
    throw new CelError(firstLine(err), 'evaluate');
  }
}

export function evalCelBool(expression: string, activation: Record<string, unknown>): boolean {
  const out = evalCel(expression, activation);
  if (typeof out !== 'boolean') throw new CelError(`expression '${expression.trim()}' must evaluate to bool, got ${typeOfCel(out)}`, 'evaluate');
  return out;
}

export { typeOfCel } from './values';
