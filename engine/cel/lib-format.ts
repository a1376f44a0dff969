/**
 * Kubernetes CEL `format` library (k8s.io/apiserver/pkg/cel/library/format.go):
 * `format.named(name)` → optional format, `format.<name>()`, and `<format>.validate(s)` →
 * optional.none() when valid, else optional.of(list of problems) in apimachinery's words.
 */
import { Optional, type Environment } from '@marcbachmann/cel-js';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isLabelValue, isQualifiedName, maskTrailingDash } from '../kube/name-validation';

export class FormatNamespace {}

/** A named string format (apiserver's *cel.Format). */
export class NamedFormat {
  constructor(readonly name: string, readonly validate: (s: string) => string[]) {}
}

/** Go's url.ParseRequestURI, as far as its error texts go ("parse \"x\": invalid URI for request"). */
function parseRequestURIError(s: string): string | null {
  const fail = (why: string) => `parse ${JSON.stringify(s)}: ${why}`;
  if (s === '') return fail('empty url');
  if (/[\u0000-\u001f\u007f]/.test(s)) return fail('net/url: invalid control character in URL');
  let rest = s;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(s);
  if (s.startsWith(':')) return fail('missing protocol scheme');
  if (scheme) rest = s.slice(scheme[0].length);
  const query = rest.indexOf('?');
  if (query >= 0) rest = rest.slice(0, query);
  if (!rest.startsWith('/')) {
    if (scheme) return null; // a rootless path after a scheme is opaque
    return fail('invalid URI for request');
  }
  let path = rest;
  if (scheme && rest.startsWith('//')) {
    const end = rest.indexOf('/', 2);
    const authority = end >= 0 ? rest.slice(2, end) : rest.slice(2);
    path = end >= 0 ? rest.slice(end) : '';
    const host = authority.slice(authority.lastIndexOf('@') + 1);
    const colon = host.startsWith('[') ? host.indexOf(':', host.indexOf(']')) : host.lastIndexOf(':');
    if (colon >= 0 && !/^\d*$/.test(host.slice(colon + 1))) return fail(`invalid port ${JSON.stringify(host.slice(colon))} after host`);
  }
  const badEscape = /%(?![0-9A-Fa-f]{2})(.{0,2})/.exec(path);
  if (badEscape) return fail(`invalid URL escape ${JSON.stringify(`%${badEscape[1]}`)}`);
  return null;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;
const TIME_OF_DAY = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/;

/** Go's time.Parse("2006-01-02", s): exact shape and a real calendar day. */
function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days;
}

/** strfmt IsDateTime: a date, a 't', then a time of day (checked on the lower-cased text). */
function isDateTime(s: string): boolean {
  if (s.length < 4) return false;
  const parts = s.toLowerCase().split('t');
  if (parts.length < 2 || !isDate(parts[0])) return false;
  const m = TIME_OF_DAY.exec(parts[1]);
  return !!m && m[1] <= '23' && m[2] <= '59' && m[3] <= '59';
}

const FORMATS: Record<string, NamedFormat> = {
  dns1123Label: new NamedFormat('DNS1123Label', (s) => isDNS1123Label(s)),
  dns1123Subdomain: new NamedFormat('DNS1123Subdomain', (s) => isDNS1123Subdomain(s)),
  dns1035Label: new NamedFormat('DNS1035Label', (s) => isDNS1035Label(s)),
  qualifiedName: new NamedFormat('QualifiedName', (s) => isQualifiedName(s)),
  dns1123LabelPrefix: new NamedFormat('DNS1123LabelPrefix', (s) => isDNS1123Label(maskTrailingDash(s))),
  dns1123SubdomainPrefix: new NamedFormat('DNS1123SubdomainPrefix', (s) => isDNS1123Subdomain(maskTrailingDash(s))),
  dns1035LabelPrefix: new NamedFormat('DNS1035LabelPrefix', (s) => isDNS1035Label(maskTrailingDash(s))),
  labelValue: new NamedFormat('LabelValue', (s) => isLabelValue(s)),
  uri: new NamedFormat('URI', (s) => {
    const err = parseRequestURIError(s);
    return err ? [err] : [];
  }),
  uuid: new NamedFormat('uuid', (s) => (UUID.test(s) ? [] : ['does not match the UUID format'])),
  byte: new NamedFormat('byte', (s) => (BASE64.test(s) ? [] : ['invalid base64'])),
  date: new NamedFormat('date', (s) => (isDate(s) ? [] : ['invalid date'])),
  datetime: new NamedFormat('datetime', (s) => (isDateTime(s) ? [] : ['invalid datetime'])),
};

export function registerFormatLibrary(env: Environment): void {
  env
    .registerType('FormatNamespace', FormatNamespace)
    .registerType('kubernetes.NamedFormat', NamedFormat)
    .registerConstant('format', 'FormatNamespace', new FormatNamespace())
    .registerFunction('FormatNamespace.named(string): optional<kubernetes.NamedFormat>', (_ns: unknown, name: string) =>
      Object.prototype.hasOwnProperty.call(FORMATS, name) ? Optional.of(FORMATS[name]) : Optional.none())
    .registerFunction('kubernetes.NamedFormat.validate(string): optional<list<string>>', (f: NamedFormat, s: string) => {
      const problems = f.validate(s);
      return problems.length ? Optional.of(problems) : Optional.none();
    });
  for (const [name, format] of Object.entries(FORMATS)) {
    env.registerFunction(`FormatNamespace.${name}(): kubernetes.NamedFormat`, () => format);
  }
}
