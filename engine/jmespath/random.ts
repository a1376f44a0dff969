/**
 * random(pattern): a string matching a regular expression, like goregen
 * (unbounded repeats stop at 10). Bounded so hostile patterns cannot explode.
 */
import { compileRegex } from '../regex';
import { JmespathError } from './go-compat';

type Node =
  | { t: 'lit'; c: string }
  | { t: 'set'; ranges: Array<[number, number]>; negate: boolean }
  | { t: 'any' }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number };

const MAX_UNBOUNDED = 10;
const MAX_OUTPUT = 64 * 1024;
const PRINTABLE: Array<[number, number]> = [[0x20, 0x7e]];
const CLASS_ESCAPES: Record<string, Array<[number, number]>> = {
  d: [[48, 57]],
  w: [[48, 57], [65, 90], [95, 95], [97, 122]],
  s: [[9, 10], [12, 13], [32, 32]],
};

class Parser {
  i = 0;
  constructor(readonly src: string) {}

  parseAlt(): Node {
    const options = [this.parseSeq()];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.parseSeq());
    }
    return options.length === 1 ? options[0] : { t: 'alt', options };
  }

  parseSeq(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      let atom = this.parseAtom();
      if (!atom) continue;
      atom = this.parseQuantifier(atom);
      items.push(atom);
    }
    return { t: 'seq', items };
  }

  parseQuantifier(atom: Node): Node {
    for (;;) {
      const c = this.src[this.i];
      let min: number, max: number;
      if (c === '*') [min, max] = [0, MAX_UNBOUNDED];
      else if (c === '+') [min, max] = [1, MAX_UNBOUNDED];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
        if (!m) return atom;
        min = Number(m[1]);
        max = m[2] ? (m[3] ? Number(m[3]) : Math.max(min, MAX_UNBOUNDED)) : min;
        this.i += m[0].length - 1;
      } else return atom;
      this.i++;
      if (this.src[this.i] === '?') this.i++;
      atom = { t: 'rep', node: atom, min, max };
    }
  }

  parseAtom(): Node | null {
    const c = this.src[this.i++];
    if (c === '(') {
      if (this.src[this.i] === '?') {
        const m = /^\?(?:P?<[^>]*>|[a-zA-Z-]*:?)/.exec(this.src.slice(this.i));
        this.i += m ? m[0].length : 1;
      }
      const inner = this.parseAlt();
      this.i++; // ')'
      return inner;
    }
    if (c === '[') return this.parseClass();
    if (c === '.') return { t: 'any' };
    if (c === '^' || c === '$') return null;
    if (c === '\\') return this.parseEscape(false) as Node;
    return { t: 'lit', c };
  }

  parseEscape(inClass: boolean): Node | Array<[number, number]> {
    const e = this.src[this.i++];
    const lower = e.toLowerCase();
    if (lower in CLASS_ESCAPES) {
      const ranges = CLASS_ESCAPES[lower];
      const negate = e !== lower;
      return inClass && !negate ? ranges : { t: 'set', ranges, negate };
    }
    const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v' };
    const ch = map[e] ?? e;
    return inClass ? [[ch.codePointAt(0)!, ch.codePointAt(0)!]] : { t: 'lit', c: ch };
  }

  parseClass(): Node {
    let negate = false;
    if (this.src[this.i] === '^') {
      negate = true;
      this.i++;
    }
    const ranges: Array<[number, number]> = [];
    let first = true;
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false;
      let lo: number;
      if (this.src[this.i] === '\\') {
        this.i++;
        const r = this.parseEscape(true);
        if (!Array.isArray(r)) continue;
        if (r.length !== 1 || r[0][0] !== r[0][1]) {
          ranges.push(...r);
          continue;
        }
        lo = r[0][0];
      } else if (this.src.startsWith('[:', this.i)) {
        const end = this.src.indexOf(':]', this.i);
        const name = this.src.slice(this.i + 2, end);
        this.i = end + 2;
        ranges.push(...(name === 'digit' ? CLASS_ESCAPES.d : name === 'alpha' ? [[65, 90], [97, 122]] as Array<[number, number]> : name === 'alnum' ? [[48, 57], [65, 90], [97, 122]] as Array<[number, number]> : PRINTABLE));
        continue;
      } else {
        lo = this.src.codePointAt(this.i)!;
        this.i += lo > 0xffff ? 2 : 1;
      }
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const hi = this.src[this.i] === '\\' ? this.src.codePointAt(++this.i)! : this.src.codePointAt(this.i)!;
        this.i += hi > 0xffff ? 2 : 1;
        ranges.push([lo, hi]);
      } else ranges.push([lo, lo]);
    }
    this.i++; // ']'
    return { t: 'set', ranges, negate };
  }
}

const pool = new Uint32Array(1024);
let poolIndex = pool.length;

/** Uniform-enough random integer in [0, n); crypto-backed when available, refilled in batches. */
function randomInt(n: number): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (!c?.getRandomValues) return Math.floor(Math.random() * n);
  if (poolIndex >= pool.length) {
    c.getRandomValues(pool);
    poolIndex = 0;
  }
  return pool[poolIndex++] % n;
}

function pickFrom(ranges: Array<[number, number]>): string {
  const total = ranges.reduce((s, [a, b]) => s + (b - a + 1), 0);
  if (total <= 0) return '';
  let k = randomInt(total);
  for (const [a, b] of ranges) {
    if (k <= b - a) return String.fromCodePoint(a + k);
    k -= b - a + 1;
  }
  return '';
}

function generate(node: Node, out: string[], budget: { left: number }): void {
  if (budget.left <= 0) throw new JmespathError('random: pattern generates too long a string');
  switch (node.t) {
    case 'lit': out.push(node.c); budget.left--; return;
    case 'any': out.push(pickFrom(PRINTABLE)); budget.left--; return;
    case 'set': {
      let ranges = node.ranges;
      if (node.negate) {
        ranges = [];
        for (let c = 0x20; c <= 0x7e; c++) if (!node.ranges.some(([a, b]) => c >= a && c <= b)) ranges.push([c, c]);
      }
      out.push(pickFrom(ranges));
      budget.left--;
      return;
    }
    case 'seq': for (const item of node.items) generate(item, out, budget); return;
    case 'alt': generate(node.options[randomInt(node.options.length)], out, budget); return;
    case 'rep': {
      const count = node.min + randomInt(Math.max(1, node.max - node.min + 1));
      if (count > budget.left) throw new JmespathError('random: pattern generates too long a string');
      for (let k = 0; k < count; k++) generate(node.node, out, budget);
    }
  }
}

export function randomFromPattern(pattern: string): string {
  if (pattern === '') throw new JmespathError('no pattern provided');
  try {
    compileRegex(pattern);
  } catch (e) {
    throw new JmespathError((e as Error).message);
  }
  const out: string[] = [];
  generate(new Parser(pattern).parseAlt(), out, { left: MAX_OUTPUT });
  return out.join('');
}
