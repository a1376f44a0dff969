/**
 * Gaps between cel-js and cel-go as Kubernetes configures it: heterogeneous numeric equality
 * (`1 == 1.0`, `1 == 1u` are true in cel-go), `string(duration)`, and ext.Encoders' base64.
 */
import type { Environment } from '@marcbachmann/cel-js';

export class Base64Namespace {}

function numeric(v: unknown): number {
  if (typeof v === 'bigint' || typeof v === 'number') return Number(v);
  return Number((v as { valueOf(): unknown }).valueOf());
}

/** cel-go prints durations in seconds with up to 9 fractional digits, e.g. "90s", "1.5s". */
function durationText(d: { seconds: bigint; nanos: number }): string {
  const negative = d.seconds < 0n || d.nanos < 0;
  const secs = d.seconds < 0n ? -d.seconds : d.seconds;
  const nanos = Math.abs(d.nanos);
  const frac = nanos ? '.' + String(nanos).padStart(9, '0').replace(/0+$/, '') : '';
  return `${negative ? '-' : ''}${secs}${frac}s`;
}

export function registerCoreGaps(env: Environment): void {
  // Registering == also provides != and the reversed operand order.
  env
    .registerOperator('int == double', (a: bigint, b: number) => numeric(a) === b)
    .registerOperator('int == uint', (a: bigint, b: unknown) => a === BigInt(numeric(b)))
    .registerOperator('uint == double', (a: unknown, b: number) => numeric(a) === b)
    .registerFunction('string(google.protobuf.Duration): string', (d: { seconds: bigint; nanos: number }) => durationText(d))
    .registerType('Base64Namespace', Base64Namespace)
    .registerConstant('base64', 'Base64Namespace', new Base64Namespace())
    .registerFunction('Base64Namespace.encode(bytes): string', (_ns: unknown, b: Uint8Array) => {
      let bin = '';
      for (const x of b) bin += String.fromCharCode(x);
      return btoa(bin);
    })
    .registerFunction('Base64Namespace.decode(string): bytes', (_ns: unknown, s: string) => {
      let bin: string;
      try { bin = atob(s); } catch { throw new Error(`base64.decode: illegal base64 data`); }
      return Uint8Array.from(bin, (c) => c.charCodeAt(0));
    });
}
