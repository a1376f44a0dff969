/** Stable diagnostic codes (documented in server/README.md) and the diagnostic shape. */
import type { Range } from './documents';

export const Severity = { Error: 1, Warning: 2, Information: 3, Hint: 4 } as const;
export type SeverityValue = (typeof Severity)[keyof typeof Severity];

export const Codes = {
  yamlSyntax: 'KS1001',
  tooLarge: 'KS1002',
  aliasLimit: 'KS1003',
  unknownField: 'KS1101',
  missingRequired: 'KS1102',
  wrongType: 'KS1103',
  badEnum: 'KS1104',
  schemaOther: 'KS1105',
  nullValue: 'KS1106',
  duplicateRule: 'KS1201',
  multipleValidations: 'KS1202',
  invalidAnchor: 'KS1203',
  jmespathSyntax: 'KS1204',
  unknownFunction: 'KS1205',
  functionArity: 'KS1206',
  celError: 'KS1207',
  backgroundRequestVar: 'KS1208',
  autogenPitfall: 'KS1209',
  emptyRule: 'KS1210',
  podSecurity: 'KS1211',
  unknownObjectField: 'KS1212',
  admissionRejected: 'KS1213',
  celTypeCheck: 'KS1214',
  violationEnforce: 'KS2001',
  violationAudit: 'KS2002',
  mutation: 'KS2003',
  engineError: 'KS2004',
  internalError: 'KS1901',
} as const;

export interface Diagnostic {
  range: Range;
  severity: SeverityValue;
  code: string;
  source: 'kyverno';
  message: string;
  /** Code-action payload (mutation patches). */
  data?: unknown;
}

export function diag(range: Range, severity: SeverityValue, code: string, message: string, data?: unknown): Diagnostic {
  return data === undefined ? { range, severity, code, source: 'kyverno', message } : { range, severity, code, source: 'kyverno', message, data };
}

/** Diagnostics of a later check where an earlier one already stands at the same place say it twice. */
export function withoutRepeats(later: Diagnostic[], earlier: Diagnostic[]): Diagnostic[] {
  if (!earlier.length) return later;
  const at = (d: Diagnostic) => `${d.range.start.line}:${d.range.start.character}`;
  const taken = new Set(earlier.map(at));
  return later.filter((d) => !taken.has(at(d)));
}
