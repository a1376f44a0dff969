/**
 * AdmissionReview v1 in, AdmissionReview v1 out: the pure heart of the webhook. No sockets
 * here, so the same function serves the server processes, background scans and the tests.
 */
import { rolesOfUser } from './user-roles';
import { hasMutateStandard } from './rules';
import { compare } from 'fast-json-patch';
import { applyPolicy, type ApplyOptions, type ApplyPhase } from '../engine/apply';
import { IMAGE_VALIDATING_KINDS, ImageVerificationContext } from '../engine/cel/image-validating-policy';
import type { AdmissionRequest, ClusterState, GroupVersionKind, JsonObject, Operation, PolicyResponse, RuleResult } from '../engine/core/types';
import { knownKindOfResource } from '../engine/kube';
import { asObject, isJsonObject } from '../engine/core/json';
import { normalizeFailureAction } from '../engine/policy';
import { withDeadline } from '../engine/core/budget';

export type WebhookPath = 'validate' | 'mutate';

export interface AdmissionAnswer {
  /** HTTP status: 200 for any review we could read, 400 for a request that is not one. */
  status: number;
  body: JsonObject;
  /** Engine results, for metrics and policy reports: one per policy, in the policies' order (empty on 400). */
  responses: PolicyResponse[];
  /** How long each policy's evaluation took, in seconds, in the same order (Kyverno's execution durations). */
  seconds?: number[];
  /** The response is `{ uid, allowed: true }` and nothing else (most answers): see allowedAnswerText. */
  plainAllowed?: boolean;
}

// The text of the plain allowed answer, written around the uid from fixed pieces:
// JSON.stringify would walk the envelope for every review.
const ALLOWED_HEAD = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":';
const ALLOWED_TAIL = ',"allowed":true}}';

/** JSON.stringify(answer.body), from the fixed pieces when the answer is plainly allowed. */
export function answerText(answer: AdmissionAnswer): string {
  if (answer.plainAllowed) {
    const uid = asObject(answer.body.response).uid;
    if (typeof uid === 'string') return `${ALLOWED_HEAD}${JSON.stringify(uid)}${ALLOWED_TAIL}`;
  }
  return JSON.stringify(answer.body);
}

export class BadReviewError extends Error {}

/**
 * The review ran past its deadline: checked between policies and by the engine's budgets
 * inside them (the watchdog covers whatever neither reaches).
 */
export class DeadlineExceeded extends Error {}

function deadlineExceeded(started: number, done: number, total: number): DeadlineExceeded {
  return new DeadlineExceeded(`policy evaluation exceeded its deadline after ${Date.now() - started} ms (${done} of ${total} policies done)`);
}

const VALIDATE_PHASES: readonly ApplyPhase[] = ['validate'];
const MUTATE_PHASES: readonly ApplyPhase[] = ['mutate', 'verifyImages'];

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Null when `v` is an object whose `required` fields are non-empty strings (and `group` a string if present). */
function missingFields(v: unknown, required: string[]): string | null {
  if (!isJsonObject(v)) return 'is missing';
  for (const f of required) if (typeof v[f] !== 'string' || v[f] === '') return `has no ${f}`;
  if (v.group !== undefined && typeof v.group !== 'string') return 'has a group that is not a string';
  return null;
}

/**
 * The kind of the resource a subresource request belongs to (`request.resource` apps/v1
 * statefulsets for a Scale), as Kyverno's webhook looks it up in discovery (withTopLevelGVK);
 * undefined for a request on the resource itself (its kind is the request's) or one the
 * known kinds do not serve.
 */
export function topLevelKind(req: JsonObject): (GroupVersionKind & { resource: string }) | undefined {
  if (typeof req.subResource !== 'string' || !req.subResource || !isJsonObject(req.resource)) return undefined;
  const { group = '', version = '', resource = '' } = req.resource as { group?: string; version?: string; resource?: string };
  const known = knownKindOfResource(group, resource);
  return known ? { group, version, kind: known.kind, resource } : undefined;
}

/**
 * An object of the review as Kyverno reads it (admissionutils.ExtractResources: ConvertResource
 * sets the request's namespace on every kind but Namespace): a subresource's own object, such
 * as the PodExecOptions of pods/exec, then has the namespace its parent is in.
 */
function inRequestNamespace(obj: JsonObject, namespace: string | undefined, kind: unknown): JsonObject {
  if (!namespace || kind === 'Namespace') return obj;
  const meta = isJsonObject(obj.metadata) ? obj.metadata : {};
  return meta.namespace === namespace ? obj : { ...obj, metadata: { ...meta, namespace } };
}

/** Checks the envelope and turns `request` into the engine's AdmissionRequest. */
export function readAdmissionReview(review: unknown): { uid: string; request: AdmissionRequest } {
  if (!isJsonObject(review)) throw new BadReviewError('body is not a JSON object');
  if (review.kind !== 'AdmissionReview') throw new BadReviewError(`kind is ${JSON.stringify(review.kind)}, expected "AdmissionReview"`);
  if (review.apiVersion !== 'admission.k8s.io/v1') {
    throw new BadReviewError(`apiVersion is ${JSON.stringify(review.apiVersion)}, expected "admission.k8s.io/v1"`);
  }
  const req = review.request;
  if (!isJsonObject(req)) throw new BadReviewError('request is missing');
  if (typeof req.uid !== 'string' || req.uid === '') throw new BadReviewError('request.uid is missing');
  const operation = req.operation as Operation;
  if (!OPERATIONS.includes(operation)) throw new BadReviewError(`request.operation ${JSON.stringify(req.operation)} is not one of ${OPERATIONS.join(', ')}`);
  // The API server always sends both (GroupVersionKind, GroupVersionResource): a review
  // without them is not one it wrote, and guessing the kind from the object could
  // pick the wrong policies.
  const kindProblem = missingFields(req.kind, ['kind', 'version']);
  if (kindProblem) throw new BadReviewError(`request.kind ${kindProblem}`);
  const resourceProblem = missingFields(req.resource, ['resource', 'version']);
  if (resourceProblem) throw new BadReviewError(`request.resource ${resourceProblem}`);
  const namespace = typeof req.namespace === 'string' ? req.namespace : undefined;
  const kindName = isJsonObject(req.kind) ? req.kind.kind : undefined;
  const object = isJsonObject(req.object) ? inRequestNamespace(req.object, namespace, kindName) : null;
  const oldObject = isJsonObject(req.oldObject) ? inRequestNamespace(req.oldObject, namespace, kindName) : null;
  if (operation === 'DELETE' ? !oldObject : !object) {
    throw new BadReviewError(operation === 'DELETE' ? 'request.oldObject is missing' : 'request.object is missing');
  }
  const kind = isJsonObject(req.kind) ? req.kind : {};
  const userInfo = isJsonObject(req.userInfo) ? req.userInfo : {};
  const resourceKind = topLevelKind(req);
  return {
    uid: req.uid,
    request: {
      operation,
      object,
      oldObject,
      kind: { group: String(kind.group ?? ''), version: String(kind.version ?? ''), kind: String(kind.kind ?? '') },
      subResource: typeof req.subResource === 'string' ? req.subResource : undefined,
      ...(resourceKind ? { resourceKind } : {}),
      namespace: typeof req.namespace === 'string' ? req.namespace : undefined,
      ...(typeof req.name === 'string' && req.name ? { name: req.name } : {}),
      dryRun: req.dryRun === true,
      requestInfo: {
        roles: [],
        clusterRoles: [],
        userInfo: {
          username: typeof userInfo.username === 'string' ? userInfo.username : undefined,
          uid: typeof userInfo.uid === 'string' ? userInfo.uid : undefined,
          groups: Array.isArray(userInfo.groups) ? userInfo.groups.map(String) : [],
          extra: isJsonObject(userInfo.extra) ? (userInfo.extra as Record<string, string[]>) : undefined,
        },
      },
    },
  };
}

function resourceLabel(request: AdmissionRequest): string {
  const obj = (request.object ?? request.oldObject ?? {}) as JsonObject;
  const meta = (obj.metadata ?? {}) as JsonObject;
  const ns = String(meta.namespace ?? request.namespace ?? '');
  const kind = request.kind?.kind || String(obj.kind ?? '');
  const name = String(meta.name ?? meta.generateName ?? '');
  return ns ? `${kind}/${ns}/${name}` : `${kind}//${name}`;
}

/**
 * A rule that blocks the validating answer (Kyverno's HasEnforcedFailure, whatever the rule's
 * type): a validate rule, or a verifyImages rule's validate pass (verifyDigest, required), which
 * Kyverno's validating webhook runs for its VerifyImagesValidate policies.
 */
function isBlocking(rule: RuleResult): boolean {
  return (rule.status === 'fail' || rule.status === 'error') && (rule.type === 'Validation' || rule.type === 'ImageVerify') && rule.failureAction === 'Enforce';
}

const isKyvernoPolicy = (policy: JsonObject) => String(policy.apiVersion ?? '').startsWith('kyverno.io/');

/**
 * Whether Kyverno's validating handler runs the policy while the request waits (its policy
 * cache's ValidateEnforce or ValidateAuditWarn sets): an Enforce action anywhere in the policy
 * (spec, overrides, any rule) or `spec.emitWarning`. Other classic policies are audited in the
 * background and add no warning to the answer. Memoised: asked for every review.
 */
const enforcing = new WeakMap<JsonObject, boolean>();
function validatesAtAdmission(policy: JsonObject): boolean {
  return asObject(policy.spec).emitWarning === true || enforcesAtAdmission(policy);
}

/** Whether the policy is in Kyverno's ValidateEnforce set: an Enforce action in its spec, overrides or any rule. Memoised. */
function enforcesAtAdmission(policy: JsonObject): boolean {
  let known = enforcing.get(policy);
  if (known !== undefined) return known;
  const spec = asObject(policy.spec);
  const enforce = (v: unknown) => normalizeFailureAction(v) === 'Enforce';
  const overridesEnforce = (v: unknown) => Array.isArray(v) && v.some((o) => enforce(asObject(o).action));
  known = enforce(spec.validationFailureAction) || overridesEnforce(spec.validationFailureActionOverrides) ||
    (Array.isArray(spec.rules) ? spec.rules : []).some((r) => {
      const validate = asObject(asObject(r).validate);
      return enforce(validate.failureAction) || overridesEnforce(validate.failureActionOverrides);
    });
  enforcing.set(policy, known);
  return known;
}

/**
 * The warnings of an admitted request, as Kyverno's GetWarningMessages words them: every
 * failed, errored or warned rule of the classic policies the handler of `path` runs while the
 * request waits (every mutating one; validating ones per validatesAtAdmission), every non-skipped
 * rule of a mutating policy with `spec.emitWarning`, and every warned rule of the other kinds.
 */
export function admissionWarnings(path: WebhookPath, answers: ReadonlyArray<{ policy: JsonObject; response: Pick<PolicyResponse, 'policy' | 'rules'> }>): string[] {
  return warningsOf(path, answers.map((a) => a.policy), answers.map((a) => a.response));
}

/** admissionWarnings over the policies and their responses (responses[i] is policies[i]'s). */
function warningsOf(path: WebhookPath, policies: readonly JsonObject[], responses: ReadonlyArray<Pick<PolicyResponse, 'policy' | 'rules'>>): string[] {
  const warnings: string[] = [];
  for (let i = 0; i < responses.length; i++) {
    const response = responses[i];
    // Whether the policy's failures warn is looked up only for a rule that could warn:
    // on /validate a pass or a skip never does, and that is most results.
    let classic: boolean | undefined;
    let everyRule = false;
    // Indexed: `for…of` here allocated an iterator per policy and review (the rule lists are
    // of several shapes, frozen shared ones among them, so V8 did not elide it).
    const rules = response.rules;
    for (let j = 0; j < rules.length; j++) {
      const x = rules[j];
      if (x.status === 'skip' || (x.status === 'pass' && path === 'validate')) continue;
      if (classic === undefined) {
        const policy = policies[i];
        classic = isKyvernoPolicy(policy) && (path === 'mutate' || validatesAtAdmission(policy));
        everyRule = classic && path === 'mutate' && asObject(policy.spec).emitWarning === true;
      }
      const warns = x.status === 'warn' || (classic && (x.status === 'fail' || x.status === 'error')) || everyRule;
      if (warns) warnings.push(`policy ${response.policy.name}.${x.name}: ${x.message}`);
    }
  }
  return warnings;
}

/** Plain text yaml.v3 would read back as another type (its resolve, isOldBool, isBase60Float): quoted. */
const NOT_A_STRING = /^(?:|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?(?:\d[\d_]*(?:\.[\d_]*)?(?:[eE][-+]?\d+)?|\.\d[\d_]*(?:[eE][-+]?\d+)?|\.(?:inf|Inf|INF)|0x[\da-fA-F_]+|0o?[0-7_]+|0b[01_]+|\d+(?::[0-5]?\d)+(?:\.\d*)?)|\.(?:nan|NaN|NAN)|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?)$/;

/** What go-yaml's emitter cannot write as it is (is_printable is false, or a line break in a quoted scalar): it escapes it. */
const NOT_PRINTABLE = /[^\n\x20-\x7e\u00a0-\ud7ff\ue000-\ufefe\uff00-\ufffd]/u;

/** The escapes yaml_emitter_write_double_quoted_scalar writes by name. */
const NAMED_ESCAPES: Record<number, string> = { 0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r', 0x1b: 'e', 0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P' };

/**
 * yaml_emitter_write_double_quoted_scalar: characters it cannot print, line breaks, `"` and `\`
 * escaped (by name, else \xXX, \uXXXX or \UXXXXXXXX), and a single space past column 80
 * (not the first or last character) turned into a line break at the value's indent, with a `\`
 * before a following space so that it reads back.
 */
function doubleQuoted(s: string, column: number): string {
  const chars = [...s];
  let out = '"';
  let col = column + 1;
  let spaces = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    const code = c.codePointAt(0)!;
    if (NOT_PRINTABLE.test(c) || c === '\n' || c === '\u2028' || c === '\u2029' || c === '"' || c === '\\') {
      const named = NAMED_ESCAPES[code];
      const hex = (n: number) => code.toString(16).toUpperCase().padStart(n, '0');
      const escape = `\\${named ?? (code <= 0xff ? `x${hex(2)}` : code <= 0xffff ? `u${hex(4)}` : `U${hex(8)}`)}`;
      out += escape;
      col += escape.length;
      spaces = false;
    } else if (c === ' ') {
      if (!spaces && col > 80 && i > 0 && i < chars.length - 1) {
        out += '\n    ';
        col = 4;
        if (chars[i + 1] === ' ') {
          out += '\\';
          col++;
        }
      } else {
        out += ' ';
        col++;
      }
      spaces = true;
    } else {
      out += c;
      col++;
      spaces = false;
    }
  }
  return `${out}"`;
}

/**
 * A rule's message as the value of `  <rule>: ` in Kyverno's denial text, which go-yaml v3's
 * encoder writes (GetBlockedMessages): plain when the text allows it, else single-quoted
 * (double-quoted with characters a single-quoted scalar cannot hold), a literal block when
 * it spans lines; plain and single-quoted text folded at the first space past column 80,
 * continued at the value's indent (4).
 */
function yamlValue(s: string, column: number): string {
  // yaml_emitter_analyze_scalar: a literal block is refused by a space before a line break, a
  // trailing space or a character the emitter must escape; a line starting with spaces is fine.
  const special = NOT_PRINTABLE.test(s);
  if (s.includes('\n') && !special && !s.includes(' \n') && !s.endsWith(' ')) {
    const chomp = s.endsWith('\n\n') || s === '\n' ? '+' : s.endsWith('\n') ? '' : '-';
    const body = s.endsWith('\n') ? s.replace(/\n$/, '') : s;
    // yaml_emitter_write_block_scalar_hints: text starting with a space or a break gets the indentation hint, best_indent (SetIndent(2)).
    return `|${/^[ \n]/.test(s) ? '2' : ''}${chomp}\n${body.split('\n').map((l) => (l ? `    ${l}` : '')).join('\n')}`;
  }
  // The encoder picks double quotes for text that would read back as another type, the emitter for characters single quotes cannot hold.
  if (special || s.includes('\n') || NOT_A_STRING.test(s)) return doubleQuoted(s, column);
  const first = s[0] ?? '';
  const indicatorStart = /^[#,[\]{}&*!|>'"%@`]/.test(s) || /^[?:-](?:\s|$)/.test(s) || /^(?:---|\.\.\.)(?:\s|$)/.test(s);
  const plain = first !== ' ' && !s.endsWith(' ') && !indicatorStart && !/:(?:\s|$)/.test(s) && !/\s#/.test(s) && !s.includes('\t');
  const quote = plain ? '' : "'";
  let out = quote;
  let col = column + quote.length;
  let spaces = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ' ') {
      // yaml_emitter_write_plain/write_single_quoted: a space past the best width becomes a line break (not the first or last of a quoted text, nor one of several).
      const breakable = !spaces && col > 80 && s[i + 1] !== ' ' && (plain || (i > 0 && i < s.length - 1));
      if (breakable) {
        out += '\n    ';
        col = 4;
      } else {
        out += ' ';
        col++;
      }
      spaces = true;
      continue;
    }
    spaces = false;
    const text = !plain && c === "'" ? "''" : c;
    out += text;
    col += text.length;
  }
  return out + quote;
}

/**
 * Kyverno's denial text (GetBlockedMessages): the resource, then every rule of the policies its
 * handler ran that neither passed nor skipped, as go-yaml v3 encodes a map of maps (keys in
 * yaml3KeyLess order). The validating handler runs the policies with an Enforce action, so one
 * of their Audit rules that failed is listed beside the rule that blocked.
 */
export function blockedMessage(request: AdmissionRequest, responses: PolicyResponse[], ran: (index: number) => boolean = () => true): string {
  const failures = new Map<string, Map<string, string>>();
  responses.forEach((r, i) => {
    if (!ran(i)) return;
    const reasons = new Map<string, string>();
    for (const rule of r.rules) if (rule.status !== 'pass' && rule.status !== 'skip') reasons.set(rule.name, rule.message);
    // Keyed by name, as Kyverno's map: a later policy of the same name (a Policy beside a ClusterPolicy) replaces the earlier.
    if (reasons.size) failures.set(r.policy.name, reasons);
  });
  const lines: string[] = [];
  for (const policy of [...failures.keys()].sort(yaml3Order)) {
    lines.push(`${yamlValue(policy, 0)}:`);
    const reasons = failures.get(policy)!;
    for (const rule of [...reasons.keys()].sort(yaml3Order)) {
      const key = yamlValue(rule, 2);
      lines.push(`  ${key}: ${yamlValue(reasons.get(rule)!, key.length + 4)}`);
    }
  }
  return `\n\nresource ${resourceLabel(request)} was blocked due to the following policies \n\n${lines.join('\n')}\n`;
}

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => /\p{Nd}/u.test(c);

/**
 * go-yaml v3's order of string map keys (sorter.go keyList.Less): at the first differing rune two
 * letters compare by code point; a letter and a non-letter put the non-letter first, unless the
 * runes before were digits; otherwise the digit runs there compare by value, then by length.
 */
export function yaml3KeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  let digits = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) {
      digits = isDigit(ar[i]);
      continue;
    }
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return ar[i].codePointAt(0)! < br[i].codePointAt(0)!;
    if (al || bl) return digits ? al : bl;
    // Leading zeros after a nonzero digit of the same run count as part of the number.
    let an = 0n;
    let bn = 0n;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    // Go's int64 arithmetic wraps; digit runs in names are short, so BigInt.asIntN keeps that.
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = BigInt.asIntN(64, an * 10n + BigInt(ar[ai].codePointAt(0)! - 48));
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = BigInt.asIntN(64, bn * 10n + BigInt(br[bi].codePointAt(0)! - 48));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i].codePointAt(0)! < br[i].codePointAt(0)!;
  }
  return ar.length < br.length;
}

const yaml3Order = (a: string, b: string) => (yaml3KeyLess(a, b) ? -1 : yaml3KeyLess(b, a) ? 1 : 0);

/** ValidatingPolicy and ImageValidatingPolicy kinds: their own handlers word the answer. */
const CEL_VALIDATING_KIND = /^(Namespaced)?(Image)?ValidatingPolicy$/;
const isCelValidating = (policy: JsonObject | undefined) => String(policy?.apiVersion ?? '').startsWith('policies.kyverno.io/') && CEL_VALIDATING_KIND.test(String(policy?.kind ?? ''));

/** What a policy list holds that changes how its reviews are answered. */
interface ListKinds {
  /** A ValidatingPolicy or ImageValidatingPolicy (their handlers word the answer). */
  celValidating: boolean;
  /** An ImageValidatingPolicy (the review's policies share one ImageVerificationContext). */
  imageValidating: boolean;
}

// Per policy list (the webhook's candidate lists are kept per route, see PolicyIndex.narrowed):
// most hold neither, and then a review looks at no policy's kind for them.
const kindsIn = new WeakMap<readonly JsonObject[], ListKinds>();

function listKinds(policies: readonly JsonObject[]): ListKinds {
  let known = kindsIn.get(policies);
  if (known === undefined) {
    known = { celValidating: policies.some(isCelValidating), imageValidating: policies.some((p) => IMAGE_VALIDATING_KINDS.has(String(p.kind))) };
    kindsIn.set(policies, known);
  }
  return known;
}

/** Whether a validate rule result blocks the request (by index: `some` with a callback cost more per policy). */
function anyBlocking(rules: readonly RuleResult[]): boolean {
  for (let j = 0; j < rules.length; j++) if (isBlocking(rules[j])) return true;
  return false;
}

/**
 * Kyverno's ValidatingPolicy and ImageValidatingPolicy handlers (vpol and ivpol
 * admissionResponse): each failed or errored rule denies under the Deny action and warns under
 * Warn, worded "Policy <name> failed: <message>" ("error" for an error); several denials are
 * joined as multierr does.
 */
const NO_VERDICT: { readonly errors: readonly string[]; readonly warnings: readonly string[] } = Object.freeze({ errors: Object.freeze([]), warnings: Object.freeze([]) });

function celValidationVerdict(policies: readonly JsonObject[], responses: PolicyResponse[]): { readonly errors: readonly string[]; readonly warnings: readonly string[] } {
  let verdict: { errors: string[]; warnings: string[] } | undefined;
  // Asked for every review: most policy sets have no CEL validating policy, and then nothing is built.
  for (let i = 0; i < responses.length; i++) {
    const policy = policies[i];
    if (!isCelValidating(policy)) continue;
    // Kyverno's ValidationActions(): Deny when none is given.
    const given = asObject(policy.spec).validationActions;
    const actions = Array.isArray(given) && given.length > 0 ? (given as unknown[]) : ['Deny'];
    const r = responses[i];
    for (const rule of r.rules) {
      if (rule.status !== 'fail' && rule.status !== 'error') continue;
      const text = `Policy ${r.policy.name} ${rule.status === 'fail' ? 'failed' : 'error'}: ${rule.message}`;
      verdict ??= { errors: [], warnings: [] };
      if (actions.includes('Deny')) verdict.errors.push(text);
      if (actions.includes('Warn')) verdict.warnings.push(text);
    }
  }
  return verdict ?? NO_VERDICT;
}

/** A classic policy's failurePolicy (spec.webhookConfiguration, else the deprecated spec field; Fail by default). */
function failurePolicyOf(policy: JsonObject): 'Fail' | 'Ignore' {
  const spec = isJsonObject(policy.spec) ? policy.spec : {};
  const configured = isJsonObject(spec.webhookConfiguration) ? spec.webhookConfiguration.failurePolicy : undefined;
  return (configured ?? spec.failurePolicy) === 'Ignore' ? 'Ignore' : 'Fail';
}

/**
 * Kyverno's mutation handler: a classic policy whose mutate rules failed under Enforce, or
 * errored while the failurePolicy is Fail, denies the request with its failed rules. The
 * failurePolicy is Fail from the first such policy with Fail on (Kyverno keeps one variable
 * across the loop), and the first blocking policy ends the handler.
 */
function mutationBlock(policies: readonly JsonObject[], responses: PolicyResponse[]): string | undefined {
  // Most reviews have no failed or errored Mutation rule: nothing to read then.
  if (!responses.some((r) => r.rules.some((x) => x.type === 'Mutation' && (x.status === 'fail' || x.status === 'error')))) return undefined;
  let failurePolicy: 'Fail' | 'Ignore' = 'Ignore';
  for (let i = 0; i < responses.length; i++) {
    const policy = policies[i];
    const rules = asObject(policy.spec).rules;
    if (!isKyvernoPolicy(policy) || !Array.isArray(rules) || !rules.some(hasMutateStandard)) continue;
    if (failurePolicyOf(policy) === 'Fail') failurePolicy = 'Fail';
    const failed = responses[i].rules.filter((x) => x.type === 'Mutation' && (x.status === 'fail' || x.status === 'error'));
    const blocks = failed.some((x) => (x.status === 'fail' && x.failureAction === 'Enforce') || (x.status === 'error' && failurePolicy === 'Fail'));
    if (!blocks) continue;
    const name = responses[i].policy.name;
    return `mutation policy ${name} error: failed to apply policy ${name} rules [${failed.map((x) => `${x.name}: ${x.message}`).join(' ')}]`;
  }
  return undefined;
}

/**
 * Kyverno's image verification handler (in the mutating webhook): the request is blocked when
 * a verifyImages rule failed under Enforce, or errored (a registry that did not answer in
 * time) while some verifying policy's failurePolicy is Fail. The message lists the policies'
 * rules that neither passed nor skipped (GetBlockedMessages).
 */
function imageVerificationBlock(request: AdmissionRequest, policies: readonly JsonObject[], responses: PolicyResponse[]): string | undefined {
  const verifying = responses.map((r, i) => ({ r, policy: policies[i], rules: r.rules.filter((x) => x.type === 'ImageVerify') })).filter((v) => v.rules.length > 0);
  if (verifying.length === 0) return undefined;
  const failurePolicy = verifying.some((v) => failurePolicyOf(v.policy) === 'Fail') ? 'Fail' : 'Ignore';
  const blocked = verifying.some((v) => v.rules.some((x) => (x.status === 'fail' && x.failureAction === 'Enforce') || (x.status === 'error' && failurePolicy === 'Fail')));
  if (!blocked) return undefined;
  return blockedMessage(request, verifying.map((v) => ({ ...v.r, rules: v.rules })));
}

function reviewEnvelope(response: JsonObject): JsonObject {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

function base64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/**
 * Evaluates a review against the policies. Validate: Enforce failures deny, Audit failures admit
 * (and are returned for reports). Mutate: policies chain, each seeing the previous one's output,
 * and the answer carries the difference as a JSONPatch.
 */
export function answerAdmissionReview(
  review: unknown,
  path: WebhookPath,
  policies: readonly JsonObject[],
  cluster: ClusterState,
  /** Epoch milliseconds; past it, evaluation stops with DeadlineExceeded. */
  deadline = Infinity,
  /** A background scan: Kyverno's scanner gives each policy its own policy context (no shared context size). */
  scan = false,
): AdmissionAnswer {
  let uid: string;
  let request: AdmissionRequest;
  try {
    ({ uid, request } = readAdmissionReview(review));
  } catch (e) {
    if (e instanceof BadReviewError) {
      return { status: 400, body: { message: `bad AdmissionReview: ${e.message}` }, responses: [] };
    }
    throw e;
  }
  // In a cluster, the user's roles from the watched bindings (Kyverno adds them to every request).
  if (cluster.roleBindings && request.requestInfo) {
    const info = request.requestInfo;
    const { roles, clusterRoles } = rolesOfUser(cluster.roleBindings, info.userInfo.username ?? '', info.userInfo.groups ?? [], request.namespace ?? '');
    request = { ...request, requestInfo: { ...info, roles, clusterRoles } };
  }
  // Made at its size: grown by pushes it was copied twice for 20 policies.
  const responses: PolicyResponse[] = new Array(policies.length);
  const seconds: number[] = new Array(policies.length);
  let current = request;
  // As in Kyverno, each webhook runs its own rule kinds: the API server runs every mutating
  // webhook before any validating one, so validation already sees the mutated object.
  const phases = path === 'validate' ? VALIDATE_PHASES : MUTATE_PHASES;
  const kinds = listKinds(policies);
  const started = Date.now();
  // The engine's budgets look at the deadline as they charge (engine/core/budget), so a
  // policy that keeps building or looping ends soon after it instead of holding the process.
  withDeadline(deadline, () => {
    // One options object while the request stays the same (the engine only reads it).
    // The review's ImageValidatingPolicies share their verifications (and settle `required`
    // together): made at the first one, as no other kind reads it (most reviews have none).
    let imageVerifications: ImageVerificationContext | undefined;
    // Kyverno's resource handlers evaluate a review's policies in one policy context per phase
    // (mutation, image verification, validation), whose JSON context counts the context
    // entries of all of them against maxContextSize. Validation has two: Enforce and
    // Audit-with-warning policies share HandleValidationEnforce's, Audit-only ones share the
    // one HandleValidationAudit builds for them. A background scan builds one per policy
    // (report/utils scanner validateResource): no shared sizes, the engine's own per phase.
    const contextSizes = scan ? undefined : { mutate: { bytes: 0 }, verifyImages: { bytes: 0 }, validate: { bytes: 0 } };
    const auditContextSizes = contextSizes && path === 'validate' ? { ...contextSizes, validate: { bytes: 0 } } : contextSizes;
    let options: ApplyOptions = { request: current, cluster, phases, contextSizes };
    let auditOptions: ApplyOptions = { ...options, contextSizes: auditContextSizes };
    // One clock read per policy, the one the deadline check between policies made anyway,
    // also times the policy (from the end of the one before). In whole milliseconds: a policy
    // mostly takes less, so most times read 0 and one in so many 1 ms, in proportion to its
    // time (sums stay right over many reviews) and in the same bucket as the exact time below
    // Kyverno's first boundary (5 ms); a finer clock read per policy cost 2% of a review.
    let before = Date.now();
    for (let i = 0; i < policies.length; i++) {
      const policy = policies[i];
      if (before > deadline) throw deadlineExceeded(started, i, policies.length);
      if (imageVerifications === undefined && kinds.imageValidating && IMAGE_VALIDATING_KINDS.has(String(policy.kind))) {
        imageVerifications = new ImageVerificationContext();
        options = { request: current, cluster, phases, imageVerifications, contextSizes };
        auditOptions = { ...options, contextSizes: auditContextSizes };
      }
      const auditOnly = auditContextSizes !== contextSizes && isKyvernoPolicy(policy) && !validatesAtAdmission(policy);
      const response = applyPolicy(policy, auditOnly ? auditOptions : options);
      responses[i] = response;
      const after = Date.now();
      seconds[i] = (after - before) / 1000;
      before = after;
      // A new request only when the object changed: the engine reuses what it built per request.
      if (path === 'mutate' && current.object && response.patchedResource && response.patchedResource !== current.object) {
        current = { ...current, object: response.patchedResource };
        options = { request: current, cluster, phases, imageVerifications, contextSizes };
        auditOptions = { ...options, contextSizes: auditContextSizes };
      }
    }
    imageVerifications?.settle();
    // Cut inside the last policy: its rules ended with deadline errors, which are no answer.
    if (before > deadline) throw deadlineExceeded(started, policies.length - 1, policies.length);
  });
  // Classic policies block with Kyverno's resource webhook message; CEL validating ones with their handlers'.
  let blocked = false;
  const celValidating = path === 'validate' && kinds.celValidating;
  if (path === 'validate') for (let i = 0; i < responses.length && !blocked; i++) blocked = !(celValidating && isCelValidating(policies[i])) && anyBlocking(responses[i].rules);
  const images = celValidating ? celValidationVerdict(policies, responses) : NO_VERDICT;
  const denied = blocked || images.errors.length > 0;
  // As Kyverno: a denied request carries the denial, not warnings.
  const warnings = denied ? [] : images.warnings.length ? [...warningsOf(path, policies, responses), ...images.warnings] : warningsOf(path, policies, responses);
  if (path === 'validate') {
    const response: JsonObject = { uid, allowed: !denied };
    if (denied) response.status = { code: 403, message: blocked ? blockedMessage(request, responses, (i) => !isCelValidating(policies[i]) && (enforcesAtAdmission(policies[i]) || anyBlocking(responses[i].rules))) : images.errors.join('; ') };
    if (warnings.length) response.warnings = warnings;
    return { status: 200, body: reviewEnvelope(response), responses, seconds, plainAllowed: !denied && warnings.length === 0 };
  }
  // Kyverno's mutation handler answers before image verification runs.
  const mutationDenial = mutationBlock(policies, responses);
  if (mutationDenial !== undefined) return { status: 200, body: reviewEnvelope({ uid, allowed: false, status: { status: 'Failure', message: mutationDenial } }), responses, seconds };
  const imageBlock = imageVerificationBlock(request, policies, responses);
  if (imageBlock !== undefined) {
    const response: JsonObject = { uid, allowed: false, status: { code: 403, message: imageBlock } };
    if (warnings.length) response.warnings = warnings;
    return { status: 200, body: reviewEnvelope(response), responses, seconds };
  }
  const response: JsonObject = { uid, allowed: true };
  if (request.object && current.object && current.object !== request.object) {
    const ops = compare(request.object, current.object);
    if (ops.length) {
      response.patchType = 'JSONPatch';
      response.patch = base64(JSON.stringify(ops));
    }
  }
  if (warnings.length) response.warnings = warnings;
  return { status: 200, body: reviewEnvelope(response), responses, seconds, plainAllowed: response.patch === undefined && warnings.length === 0 };
}
