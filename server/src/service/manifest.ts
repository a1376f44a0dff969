/**
 * Evaluates workspace policies against the Kubernetes manifests of an open file and turns
 * results into diagnostics at the blamed field. Evaluation is engine/evaluate's, the path
 * `kyverno-studio apply` takes: mutate policies first in Kyverno's order, then validation
 * (classic, CEL and admission policies) on the mutated object, against the same offline
 * cluster (the file's manifests, workspace PolicyExceptions and admission policy bindings).
 * Only the policies whose match can select a manifest's kind run (engine/evaluate's kind
 * index), and a file whose manifests and candidate policies did not change keeps its last
 * evaluation (ManifestResults). A mutation that would change the manifest becomes an
 * Information diagnostic; its edit is worked out when the code action is asked for.
 */
import { compare } from 'fast-json-patch';
import type { Document } from 'yaml';
import type { ParsedFile, ParsedDocument, Range, JsonPath } from './documents';
import { rangeOf, pointerToPath, spanRange } from './documents';
import { resultSpan } from '../../../engine/loader';
import { Codes, Severity, diag, type Diagnostic } from './codes';
import { evaluateResources, offlineCluster, PolicyKindIndex, ResponseMemo, type EngineResponse } from '../../../engine/evaluate';
import { classifyDocument, expandLists, isKyvernoDocument } from '../../../engine/loader/classify';
import { isExactJson, isJsonObject } from '../../../engine/core/json';
import { withDefaultNamespace } from '../../../engine/testing/inputs';
import type { JsonObject } from '../../../engine/core/types';
import type { ImageRegistrySnapshot } from '../../../engine/verify-images';
import type { WorkspacePolicy } from './workspace-documents';

export { workspacePolicies, type WorkspaceRole, type WorkspacePolicy } from './workspace-documents';

/**
 * The workspace's documents sorted for evaluation, with the kind index over its policies.
 * Built once per workspace version; its objects are the parsed documents themselves, so an
 * unchanged file keeps its objects (and the engine's per-object caches) across versions.
 */
export interface PolicySet {
  policies: JsonObject[];
  exceptions: JsonObject[];
  bindings: JsonObject[];
  index: PolicyKindIndex;
}

export function policySet(workspace: readonly WorkspacePolicy[]): PolicySet {
  const policies: JsonObject[] = [];
  const exceptions: JsonObject[] = [];
  const bindings: JsonObject[] = [];
  for (const w of workspace) {
    if (w.role === 'policy') policies.push(w.value);
    else if (w.role === 'exception') exceptions.push(w.value);
    else bindings.push(w.value);
  }
  return { policies, exceptions, bindings, index: new PolicyKindIndex(policies) };
}

/** Carried by a mutation diagnostic: enough to build its edit when the code action is asked for. */
export interface MutationData { title: string; uri: string; document: number; ops: Op[] }

/** The edit applying a mutation to the document. */
export interface MutationFix { title: string; uri: string; range: Range; newText: string }

export interface ManifestOptions {
  /** Documents evaluated per file at most (the rest are ignored, with a note). */
  maxDocuments?: number;
  now?: Date;
  /** Evaluate every policy on every manifest, without the kind index (tests compare both). */
  allPolicies?: boolean;
  /** What registries said about the manifests' images (only with registry access on). */
  imageRegistry?: ImageRegistrySnapshot;
}

/** Kubernetes resources (not policies, bindings, exceptions, tests or reports) in a parsed file. */
export function manifestDocuments(file: ParsedFile): ParsedDocument[] {
  return file.docs.filter((pd) => {
    if (!pd.apiVersion || !pd.kind || pd.doc.errors.length || pd.conversionError) return false;
    return !isKyvernoDocument(pd.value);
  });
}

/** One manifest of the file with what the engine made of it. */
export interface ManifestEvaluation {
  pd: ParsedDocument;
  /** Where the manifest sits in its document: [] or, inside a `kind: List`, ['items', i]. */
  itemPath: JsonPath;
  /** The manifest as evaluated (namespace defaulted as the CLI does). */
  resource: JsonObject;
  patched: JsonObject;
  responses: EngineResponse[];
}

/** A manifest of the file: its document, where it sits in it, and its value. */
interface Target { pd: ParsedDocument; itemPath: JsonPath; value: JsonObject }

function manifestTargets(file: ParsedFile, opts: ManifestOptions): Target[] {
  const docs = manifestDocuments(file).slice(0, opts.maxDocuments ?? 200);
  // A `kind: List` stands for its items, as the CLI reads resource files.
  return docs.flatMap((pd) => {
    const items = expandLists(pd.value);
    const inList = items[0] !== pd.value;
    return items.flatMap((value, i) => (isJsonObject(value) && typeof value.kind === 'string' && typeof value.apiVersion === 'string'
      ? [{ pd, itemPath: inList ? ['items', i] : [], value }]
      : []));
  });
}

/** The resources a file's manifests stand for (a `kind: List` for its items), as registry reads need them. */
export function manifestResources(file: ParsedFile): JsonObject[] {
  return manifestTargets(file, {}).map((t) => withDefaultNamespace(t.value));
}

function asPolicySet(workspace: readonly WorkspacePolicy[] | PolicySet): PolicySet {
  return Array.isArray(workspace) ? policySet(workspace as readonly WorkspacePolicy[]) : (workspace as PolicySet);
}

function evaluateTargets(targets: Target[], set: PolicySet, opts: ManifestOptions, memo?: ResponseMemo): ManifestEvaluation[] {
  if (!targets.length || !set.policies.length) return [];
  const resources = targets.map((t) => withDefaultNamespace(t.value));
  const cluster = offlineCluster({ exceptions: set.exceptions, bindings: set.bindings, resources });
  if (opts.imageRegistry) cluster.imageRegistry = opts.imageRegistry;
  const candidates = opts.allPolicies ? undefined : set.index;
  return evaluateResources({ policies: set.policies, resources, cluster, now: opts.now, candidates, memo }).map((ev, i) => ({
    pd: targets[i].pd,
    itemPath: targets[i].itemPath,
    resource: ev.resource,
    patched: ev.patched,
    responses: ev.responses,
  }));
}

/** Runs the workspace's policies over the file's manifests exactly as `kyverno-studio apply` would. */
export function evaluateManifestDocuments(file: ParsedFile, workspace: readonly WorkspacePolicy[] | PolicySet, opts: ManifestOptions = {}): ManifestEvaluation[] {
  return evaluateTargets(manifestTargets(file, opts), asPolicySet(workspace), opts);
}

export function evaluateManifests(file: ParsedFile, workspace: readonly WorkspacePolicy[] | PolicySet, opts: ManifestOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const ev of evaluateManifestDocuments(file, workspace, opts)) out.push(...manifestDiagnostics(file, ev));
  return out;
}

/** What a file's evaluation depended on: its manifests' values and the documents that could apply to them. */
interface EvaluationInputs { values: string; used: JsonObject[]; imageRegistry?: ImageRegistrySnapshot }

/** Never equal to another: values JSON cannot carry exactly (Infinity, -0...) are never reused. */
let inexactValues = 0;

function inputsOf(targets: Target[], set: PolicySet, opts: ManifestOptions): EvaluationInputs {
  const used: JsonObject[] = [...set.exceptions, ...set.bindings];
  const seen = new Set<readonly JsonObject[]>();
  for (const t of targets) {
    const candidates = opts.allPolicies ? set.policies : set.index.candidatesForRequest(undefined, t.value);
    if (seen.has(candidates)) continue;
    seen.add(candidates);
    used.push(...candidates);
  }
  const values = targets.map((t) => t.value);
  return { values: isExactJson(values) ? JSON.stringify(values) : `\u0000inexact ${++inexactValues}`, used, imageRegistry: opts.imageRegistry };
}

/**
 * What a file's policy responses depend on besides the policy, the resource it is given and
 * the file's manifests as cluster objects (the memo itself checks those it was told of).
 */
interface MemoContext { exceptions: JsonObject[]; bindings: JsonObject[]; imageRegistry?: ImageRegistrySnapshot; now?: number }

const sameObjects = (a: readonly JsonObject[], b: readonly JsonObject[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function sameContext(a: MemoContext, b: MemoContext): boolean {
  return a.imageRegistry === b.imageRegistry && a.now === b.now && sameObjects(a.exceptions, b.exceptions) && sameObjects(a.bindings, b.bindings);
}

function sameKind(a: JsonObject, b: JsonObject): boolean {
  return a.kind === b.kind && a.apiVersion === b.apiVersion;
}

function sameInputs(a: EvaluationInputs, b: EvaluationInputs): boolean {
  return a.values === b.values && a.imageRegistry === b.imageRegistry && a.used.length === b.used.length && a.used.every((x, i) => x === b.used[i]);
}

/**
 * Manifest diagnostics with each file's last evaluation kept: when neither the file's
 * manifests (their values: comments and layout do not count) nor the policies,
 * exceptions and bindings that could apply to them changed, the evaluation is reused and
 * only its diagnostics are placed again on the current text. Policy objects are immutable
 * and an unchanged workspace file keeps its objects, so identity tells what changed.
 */
export class ManifestResults {
  private last = new Map<string, { inputs: EvaluationInputs; evaluations: ManifestEvaluation[] }>();
  /**
   * Per file, the policies' responses in its current context (exceptions, bindings, registry
   * snapshot): a change of policies alone (the first workspace scan reporting progress, an
   * edited policy) evaluates only the policies it touches, and an edit of the manifest only
   * the policies that read what it changed (ResponseMemo records each evaluation's reads).
   */
  private memos = new Map<string, { context: MemoContext; memo: ResponseMemo }>();
  /** Evaluations run (not reused) so far. */
  evaluations = 0;

  constructor(private readonly opts: ManifestOptions = {}) {}

  /** `imageRegistry`: the registry snapshot for the file's images, when registry access is on. */
  diagnostics(file: ParsedFile, set: PolicySet, imageRegistry?: ImageRegistrySnapshot): Diagnostic[] {
    const opts = imageRegistry ? { ...this.opts, imageRegistry } : this.opts;
    const targets = manifestTargets(file, opts);
    if (!targets.length || !set.policies.length) {
      this.last.delete(file.uri);
      this.memos.delete(file.uri);
      return [];
    }
    const inputs = inputsOf(targets, set, opts);
    const hit = this.last.get(file.uri);
    let evaluations: ManifestEvaluation[];
    if (hit && sameInputs(hit.inputs, inputs)) {
      // Same values in the same order: the current documents take the place of the old ones.
      evaluations = hit.evaluations.map((ev, i) => ({ ...ev, pd: targets[i].pd, itemPath: targets[i].itemPath }));
    } else {
      evaluations = evaluateTargets(targets, set, opts, this.memoFor(file.uri, set, opts));
      this.evaluations++;
      // A mutation that changed a manifest's kind made every policy run after it (see evaluateResource).
      if (evaluations.some((ev) => ev.responses.some((r) => !sameKind(r.patchedResource, ev.resource)))) inputs.used = [...inputs.used, ...set.policies];
    }
    this.last.set(file.uri, { inputs, evaluations });
    return evaluations.flatMap((ev) => manifestDiagnostics(file, ev));
  }

  private memoFor(uri: string, set: PolicySet, opts: ManifestOptions): ResponseMemo {
    const context: MemoContext = { exceptions: set.exceptions, bindings: set.bindings, imageRegistry: opts.imageRegistry, now: opts.now?.getTime() };
    const hit = this.memos.get(uri);
    if (hit && sameContext(hit.context, context)) return hit.memo;
    const memo = new ResponseMemo();
    this.memos.set(uri, { context, memo });
    return memo;
  }

  forget(uri: string): void {
    this.last.delete(uri);
    this.memos.delete(uri);
  }
}

/** The diagnostics of one evaluated manifest: violations at the blamed field, engine errors, mutations. */
export function manifestDiagnostics(file: ParsedFile, ev: ManifestEvaluation): Diagnostic[] {
  const { pd, itemPath } = ev;
  const out: Diagnostic[] = [];
  // The same span the extension's results view selects for this result (engine/loader).
  const at = (path: JsonPath | undefined) => spanRange(file, resultSpan(file.text, pd.doc, itemPath, path), pd.start);
  const kindAt = () => at(undefined);
  for (const response of ev.responses) {
    const policyName = response.policy.name;
    if (response.error !== undefined) {
      out.push(diag(kindAt(), Severity.Information, Codes.engineError, `${response.policy.kind}/${policyName}: engine error: ${response.error}`));
      continue;
    }
    for (const r of response.rules) {
      // CEL and admission policies have no rules: their one result is named after the policy.
      const label = r.name && r.name !== policyName ? `${policyName}/${r.name}` : policyName;
      if (r.status === 'fail' || r.status === 'warn') {
        const enforce = r.failureAction === 'Enforce' && r.status === 'fail';
        out.push(diag(at(r.path), enforce ? Severity.Error : Severity.Warning, enforce ? Codes.violationEnforce : Codes.violationAudit,
          `${label}: ${r.message || 'validation failed'}${enforce ? '' : ' (Audit)'}`));
      } else if (r.status === 'error') {
        out.push(diag(at(r.path), Severity.Warning, Codes.engineError, `${label}: ${r.message}`));
      }
    }
    const mutated = response.rules.filter((r) => r.type === 'Mutation' && r.status === 'pass');
    if (!mutated.length) continue;
    const ops = compare(response.resource, response.patchedResource);
    if (!ops.length) continue;
    const prefix = itemPath.map((s) => `/${s}`).join('');
    // The edit itself (a copy of the YAML document with the patch applied) is only built when
    // the code action is asked for: on every keystroke it was a quarter of the evaluation.
    const editable = ops.every((o) => EDIT_OPS.has(o.op));
    const data: MutationData | undefined = editable
      ? { title: `Apply mutation from ${policyName}`, uri: file.uri, document: file.docs.indexOf(pd), ops: ops.map((o) => ({ ...o, path: prefix + o.path })) }
      : undefined;
    const range = editable ? at(pointerToPath(ops[0].path, response.resource)) : kindAt();
    out.push(diag(range, Severity.Information, Codes.mutation,
      `${policyName} would mutate this resource (${mutated.map((r) => r.name).join(', ')}): ${ops.map((o) => `${o.op} ${o.path}`).slice(0, 5).join('; ')}${ops.length > 5 ? '; …' : ''}`,
      data));
  }
  return out;
}

type Op = { op: string; path: string; value?: unknown };

/** The patch operations a YAML edit can express. */
const EDIT_OPS = new Set(['add', 'replace', 'remove']);

/** The edit of a mutation diagnostic, on the file as it is now; undefined when it no longer applies. */
export function mutationEdit(file: ParsedFile, data: MutationData): MutationFix | undefined {
  const pd = file.docs[data.document];
  if (!pd || !Array.isArray(data.ops)) return undefined;
  return mutationFix(file, pd, data.ops, data.title);
}

/** Applies JSON-patch ops to a copy of the YAML document, keeping comments and layout. */
export function mutationFix(file: ParsedFile, pd: ParsedDocument, ops: Op[], title: string): MutationFix | undefined {
  const copy = pd.doc.clone() as Document;
  let data: unknown = pd.value;
  try {
    for (const op of ops) {
      const path = pointerToPath(op.path, data);
      if (op.op === 'remove') copy.deleteIn(path);
      else if (op.op === 'add' || op.op === 'replace') copy.setIn(path, copy.createNode(op.value));
      else return undefined;
      data = copy.toJS();
    }
  } catch {
    return undefined;
  }
  let text = copy.toString();
  const original = file.text.slice(pd.start, pd.end);
  if (text.startsWith('---') && !original.startsWith('---')) text = text.replace(/^---\s*\n/, '');
  if (!original.endsWith('\n') && text.endsWith('\n')) text = text.slice(0, -1);
  return { title, uri: file.uri, range: rangeOf(file, pd.start, pd.end), newText: text };
}
