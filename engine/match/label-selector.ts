/**
 * Kubernetes label selectors (metav1.LabelSelector) with Kyverno's wildcard extension:
 * `matchLabels` keys and values may hold `*`/`?`; they are first replaced by the first label
 * of the resource they match, and when none matches, wildcard characters become `0` so the
 * requirement stays valid and fails (pkg/engine/wildcards ReplaceInSelector).
 * `matchExpressions` get no wildcard treatment, so a `*` there is an invalid label value.
 */
import { containsWildcard, wildcardMatch } from '../wildcard/wildcard';

export type Labels = Record<string, string>;

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : ['', key];
  if (slash >= 0) {
    if (prefix.length === 0) return `invalid label key "${key}": prefix part must be non-empty`;
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `invalid label key "${key}": prefix part must be a lowercase RFC 1123 subdomain`;
    }
  }
  if (name.length === 0) return `invalid label key "${key}": name part must be non-empty`;
  if (name.length > 63) return `invalid label key "${key}": name part must be no more than 63 characters`;
  if (!NAME.test(name)) {
    return `invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

function labelValueError(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `invalid label value "${value}": must be no more than 63 characters`;
  if (!NAME.test(value)) {
    return `invalid label value "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

type Requirement = { key: string; op: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] };

function asStringMap(v: unknown): Labels {
  const out: Labels = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[k] = val == null ? '' : String(val);
  }
  return out;
}

/** Kyverno's ReplaceInSelector for matchLabels. */
function expandMatchLabels(matchLabels: Labels, actual: Labels): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(matchLabels)) {
    if (!containsWildcard(k) && !containsWildcard(v)) {
      out[k] = v;
      continue;
    }
    const hit = Object.entries(actual).find(([ak, av]) => wildcardMatch(k, ak) && wildcardMatch(v, av));
    if (hit) out[hit[0]] = hit[1];
    else out[k.replace(/[*?]/g, '0')] = v.replace(/[*?]/g, '0');
  }
  return out;
}

function buildRequirements(selector: Record<string, unknown>, actual: Labels): Requirement[] | string {
  const reqs: Requirement[] = [];
  const matchLabels = expandMatchLabels(asStringMap(selector.matchLabels), actual);
  for (const [key, value] of Object.entries(matchLabels)) {
    const err = labelKeyError(key) ?? labelValueError(value);
    if (err) return err;
    reqs.push({ key, op: 'In', values: [value] });
  }
  const exprs = selector.matchExpressions;
  if (exprs != null && !Array.isArray(exprs)) return 'matchExpressions must be a list';
  for (const raw of (exprs ?? []) as unknown[]) {
    if (!raw || typeof raw !== 'object') return 'a matchExpressions entry must be an object';
    const e = raw as Record<string, unknown>;
    const key = typeof e.key === 'string' ? e.key : '';
    const op = e.operator;
    const values = Array.isArray(e.values) ? e.values.map((v) => (v == null ? '' : String(v))) : [];
    const keyErr = labelKeyError(key);
    if (keyErr) return keyErr;
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) return "for 'in', 'notin' operators, values set can't be empty";
      for (const v of values) {
        const err = labelValueError(v);
        if (err) return err;
      }
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) return "values set must be empty for exists and does not exist";
    } else {
      return `"${String(op)}" is not a valid label selector operator`;
    }
    reqs.push({ key, op, values });
  }
  return reqs;
}

export interface SelectorResult {
  matched: boolean;
  error?: string;
}

/**
 * Kyverno's CheckSelector: an absent selector matches nothing, an empty one everything.
 * Errors (invalid keys, values or operators) are reported, never thrown.
 */
export function checkSelector(selector: unknown, actual: Labels | undefined): SelectorResult {
  if (selector == null) return { matched: false };
  if (typeof selector !== 'object' || Array.isArray(selector)) return { matched: false, error: 'selector must be an object' };
  const labels = actual ?? {};
  const reqs = buildRequirements(selector as Record<string, unknown>, labels);
  if (typeof reqs === 'string') return { matched: false, error: reqs };
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const ok =
      r.op === 'In'
        ? has && r.values.includes(labels[r.key])
        : r.op === 'NotIn'
          ? !has || !r.values.includes(labels[r.key])
          : r.op === 'Exists'
            ? has
            : !has;
    if (!ok) return { matched: false };
  }
  return { matched: true };
}
