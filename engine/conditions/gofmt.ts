/**
 * fmt.Sprint of decoded JSON values, because Kyverno's set operators compare members as
 * Go prints them (JSON numbers are float64 there: 1e6 prints as "1e+06").
 */
export function goSprint(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[' + v.map(goSprint).join(' ') + ']';
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return 'map[' + keys.map((k) => `${k}:${goSprint(obj[k])}`).join(' ') + ']';
}

/** %v of a float64: shortest digits, exponent form when the exponent is < -4 or >= 6 (1e6 prints "1e+06"). */
function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 6) {
    const [mant, e] = v.toExponential().split('e');
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(v);
}
