// STUB (owner: jmespath helper replaces this file). Public surface other modules rely on.

/** Parses a Kubernetes resource quantity ("500m", "1Gi", "2e3") to its numeric value, or null. */
export function parseQuantity(s: string): number | null {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(s.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  const bin: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
  const dec: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  if (suffix in bin) return n * bin[suffix];
  if (suffix in dec) return n * dec[suffix];
  return n * 10 ** Number(suffix.slice(1));
}

/** Parses a Go duration ("1h30m", "300ms") to nanoseconds, or null. */
export function parseDuration(s: string): number | null {
  const unit: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 };
  const t = s.trim();
  if (t === '0') return 0;
  const re = /(\d+\.?\d*)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let sign = 1;
  let i = 0;
  if (t[0] === '-' || t[0] === '+') {
    sign = t[0] === '-' ? -1 : 1;
    i = 1;
  }
  re.lastIndex = i;
  let m: RegExpExecArray | null;
  let matched = false;
  while ((m = re.exec(t))) {
    total += Number(m[1]) * unit[m[2]];
    matched = true;
    if (re.lastIndex === t.length) return sign * total;
  }
  return matched && re.lastIndex === t.length ? sign * total : null;
}
