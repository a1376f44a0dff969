/**
 * Comprehension macros cel-js lacks, as cel-go provides them to Kubernetes: the two-variable
 * forms of ext.TwoVarComprehensions (`all`, `exists`, `existsOne`, `transformList`,
 * `transformMap`, `transformMapEntry`, each with an optional filter), ext.Lists' `sortBy`,
 * and `existsOne` with one variable. Every iteration is charged to the cost budget; the
 * built-in macros are charged through COST_TICK, which compileCel wraps around their step.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { CelCostError, chargeCost, tryChargeIteration } from './budget';
import { COST_TICK, COST_TICK_ALL, COST_TICK_EXISTS } from './rewrite';
import { compareValues } from './lib-strings';

/* cel-js's macro protocol is untyped JavaScript: AST nodes, checker, evaluator and contexts. */
/* eslint-disable @typescript-eslint/no-explicit-any */
type Node = any;
type Checker = any;
type Evaluator = any;
type Ctx = any;

interface Macro {
  name: string;
  receiver: Node;
  vars: string[];
  exprs: Node[];
  ctxs: Ctx[];
  async: false;
  typeCheck(chk: Checker, m: Macro, ctx: Ctx): unknown;
  evaluate(ev: Evaluator, m: Macro, ctx: Ctx): unknown;
}

function identifier(node: Node, macro: string): string {
  if (node?.op === 'id') return node.args as string;
  throw new Error(`${macro}: argument must be a simple name`);
}

function entriesOf(name: string, coll: unknown): [unknown, unknown][] {
  if (Array.isArray(coll)) return coll.map((v, i) => [BigInt(i), v]);
  if (coll instanceof Map) return [...coll.entries()];
  if (coll && typeof coll === 'object' && !(coll instanceof Uint8Array) && !(coll instanceof Date)) return Object.entries(coll);
  throw new Error(`${name}: expression of type '${coll === null ? 'null_type' : typeof coll}' cannot be range of a comprehension (must be list, map, or dynamic)`);
}

function keyText(k: unknown): string {
  return typeof k === 'string' ? k : String(k);
}

type Body = (ev: Evaluator, m: Macro, items: [unknown, unknown][], run: (k: unknown, v: unknown, expr: Node) => unknown) => unknown;

function defineMacro(env: Environment, signature: string, resultType: string, twoVars: boolean, body: Body): void {
  const name = signature.slice(signature.indexOf('.') + 1, signature.indexOf('('));
  env.registerFunction(signature, ({ args, receiver }: { args: Node[]; receiver: Node }) => {
    const varCount = twoVars ? 2 : 1;
    const macro: Macro = {
      name,
      receiver,
      vars: args.slice(0, varCount).map((a) => identifier(a, name)),
      exprs: args.slice(varCount),
      ctxs: [],
      async: false,
      typeCheck(chk, m, ctx) {
        const rt = chk.check(m.receiver, ctx);
        const dyn = chk.getType('dyn');
        let keyType = dyn, valueType = dyn;
        if (rt.kind === 'list') { keyType = chk.getType('int'); valueType = rt.valueType; }
        else if (rt.kind === 'map') { keyType = rt.keyType; valueType = rt.valueType; }
        else if (rt.kind !== 'dyn') throw chk.createError('invalid_comprehension_range', `Expression of type '${rt.name}' cannot be range of a comprehension (must be list, map, or dynamic).`, m.receiver);
        // With one variable it ranges over list elements or map keys, as in cel-go.
        const first = twoVars ? keyType : rt.kind === 'list' ? valueType : keyType;
        m.ctxs = [ctx.forkWithVariable(m.vars[0], first)];
        if (twoVars) m.ctxs.push(m.ctxs[0].forkWithVariable(m.vars[1], valueType));
        for (const e of m.exprs) chk.check(e, m.ctxs[m.ctxs.length - 1]);
        return chk.getType(resultType);
      },
      evaluate(ev, m, ctx) {
        const coll = ev.run(m.receiver, ctx);
        let items = entriesOf(m.name, coll);
        if (!twoVars && Array.isArray(coll)) items = coll.map((v) => [v, v]);
        const c0 = m.ctxs[0].reuse(ctx);
        const inner = twoVars ? m.ctxs[1].reuse(c0) : c0;
        const run = (k: unknown, v: unknown, expr: Node): unknown => {
          chargeCost(1);
          c0.setIterValue(k, ev);
          if (twoVars) inner.setIterValue(v, ev);
          return ev.run(expr, inner);
        };
        return body(ev, m, items, run);
      },
    };
    return macro;
  });
}

function mustBool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`${name}: predicate must return bool`);
  return v;
}

/** all/exists: a decisive result wins over errors from other elements, as in cel-go. */
function quantifier(decisive: boolean): Body {
  return (_ev, m, items, run) => {
    let error: unknown;
    for (const [k, v] of items) {
      try {
        if (mustBool(m.name, run(k, v, m.exprs[0])) === decisive) return decisive;
      } catch (err) {
        if (err instanceof CelCostError) throw err;
        error ??= err;
      }
    }
    if (error) throw error;
    return !decisive;
  };
}

const existsOne: Body = (_ev, m, items, run) => {
  let count = 0;
  for (const [k, v] of items) if (mustBool(m.name, run(k, v, m.exprs[0]))) count++;
  return count === 1;
};

/** Iterates with the optional filter (3 expressions → filter first) and yields transform results. */
function* transformed(m: Macro, items: [unknown, unknown][], run: (k: unknown, v: unknown, e: Node) => unknown): Generator<[unknown, unknown]> {
  const [filter, transform] = m.exprs.length === 2 ? m.exprs : [null, m.exprs[0]];
  for (const [k, v] of items) {
    if (filter && !mustBool(m.name, run(k, v, filter))) continue;
    yield [k, run(k, v, transform)];
  }
}

const transformList: Body = (_ev, m, items, run) => [...transformed(m, items, run)].map(([, v]) => v);

const transformMap: Body = (_ev, m, items, run) => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of transformed(m, items, run)) out[keyText(k)] = v;
  return out;
};

const transformMapEntry: Body = (_ev, m, items, run) => {
  const out: Record<string, unknown> = {};
  for (const [, entry] of transformed(m, items, run)) {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${m.name}: transform must return a map`);
    const pairs = entry instanceof Map ? [...entry.entries()] : Object.entries(entry);
    for (const [k, v] of pairs) {
      const key = keyText(k);
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new Error(`insert failed: key ${key} already exists`);
      out[key] = v;
    }
  }
  return out;
};

/** ext.Lists sortBy: stable sort by a computed key; keys must be mutually comparable. */
const sortBy: Body = (_ev, m, items, run) => {
  const keyed = items.map(([, v], index) => ({ v, index, key: run(v, v, m.exprs[0]) }));
  keyed.sort((a, b) => compareValues(a.key, b.key) || a.index - b.index);
  return keyed.map((e) => e.v);
};

export function registerComprehensions(env: Environment): void {
  // Charged once per iteration of cel-js's own all/exists/exists_one/map/filter.
  env
    .registerFunction(`${COST_TICK}(dyn): dyn`, (v: unknown) => {
      chargeCost(1);
      return v;
    })
    .registerFunction(`${COST_TICK_ALL}(dyn): dyn`, (v: unknown) => (tryChargeIteration() ? v : false))
    .registerFunction(`${COST_TICK_EXISTS}(dyn): dyn`, (v: unknown) => (tryChargeIteration() ? v : true));
  defineMacro(env, 'dyn.all(ast, ast, ast): bool', 'bool', true, quantifier(false));
  defineMacro(env, 'dyn.exists(ast, ast, ast): bool', 'bool', true, quantifier(true));
  defineMacro(env, 'dyn.existsOne(ast, ast, ast): bool', 'bool', true, existsOne);
  defineMacro(env, 'dyn.exists_one(ast, ast, ast): bool', 'bool', true, existsOne);
  defineMacro(env, 'dyn.existsOne(ast, ast): bool', 'bool', false, existsOne);
  for (const arity of ['ast, ast, ast', 'ast, ast, ast, ast']) {
    defineMacro(env, `dyn.transformList(${arity}): list<dyn>`, 'list<dyn>', true, transformList);
    defineMacro(env, `dyn.transformMap(${arity}): map<dyn, dyn>`, 'map<dyn, dyn>', true, transformMap);
    defineMacro(env, `dyn.transformMapEntry(${arity}): map<dyn, dyn>`, 'map<dyn, dyn>', true, transformMapEntry);
  }
  defineMacro(env, 'list.sortBy(ast, ast): list<dyn>', 'list<dyn>', false, sortBy);
}
