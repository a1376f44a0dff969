/** cel-go's `string.format(list)` verbs (%s %d %f %e %x %X %o %b %%). */
import { describeCel } from './values';

export function formatString(template: string, args: unknown[]): string {
  let argIndex = 0;
  return template.replace(/%(?:\.(\d+))?([sdfexXob%])/g, (_m, precision: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (argIndex >= args.length) throw new Error(`index ${argIndex} out of range`);
    const arg = args[argIndex++];
    switch (verb) {
      case 's':
        return typeof arg === 'string' ? arg : describeCel(arg);
      case 'd':
        if (typeof arg !== 'bigint' && !(typeof arg === 'number' && Number.isInteger(arg))) throw new Error('error during formatting: decimal clause can only be used on integers');
        return String(arg);
      case 'f':
        return Number(arg).toFixed(precision === undefined ? 6 : Number(precision));
      case 'e':
        return Number(arg).toExponential(precision === undefined ? 6 : Number(precision)).replace(/e([+-])(\d)$/, 'e$10$2');
      case 'x':
      case 'X': {
        const text = typeof arg === 'string' ? [...new TextEncoder().encode(arg)].map((b) => b.toString(16).padStart(2, '0')).join('') : BigInt(arg as bigint).toString(16);
        return verb === 'X' ? text.toUpperCase() : text;
      }
      case 'o':
        return BigInt(arg as bigint).toString(8);
      default:
        return BigInt(arg as bigint).toString(2);
    }
  });
}
