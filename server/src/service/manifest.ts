/**
 * Evaluates workspace policies against the Kubernetes manifests of an open file and turns
 * results into diagnostics at the blamed field. Evaluation is engine/evaluate's, the path
 * `kyverno-studio apply` takes: mutate policies first in Kyverno's order, then validation
 * (classic, CEL and admission policies) on the mutated object, against the same offline
 * cluster (the file's manifests, workspace PolicyExceptions and admission policy bindings).
 * A mutation that would change the manifest becomes an Information diagnostic carrying the edit.
 */
import { compare } from 'fast-json-patch';
import type { Document } from 'yaml';
import type { ParsedFile, ParsedDocument, Range, JsonPath } from './documents';
import { rangeOf, pointerToPath, spanRange } from './documents';
import { resultSpan } from '../../../engine/loader';
import { Codes, Severity, diag, type Diagnostic } from './codes';
import { evaluateResources, offlineCluster, type EngineResponse } from '../../../engine/evaluate';
import { classifyDocument, apiGroup, expandLists } from '../../../engine/loader/classify';
import { isJsonObject } from '../../../engine/core/json';
import { withDefaultNamespace } from '../../../engine/testing/inputs';
import type { JsonObject } from '../../../engine/core/types';
import type { ImageRegistrySnapshot } from '../../../engine/verify-images';

/** The resources a file's manifests stand for (a `kind: List` for its items), as registry reads need them. */
export function manifestResources(file: ParsedFile): JsonObject[] {
  return manifestDocuments(file).flatMap((pd) => expandLists(pd.value)).filter(isJsonObject).map((v) => withDefaultNamespace(v));
}

/** A document of the workspace that takes part in evaluation: a policy, a PolicyException or a binding. */
export interface WorkspacePolicy { uri: string; value: JsonObject }

export interface MutationFix { title: string; uri: string; range: Range; newText: string }

export interface ManifestOptions {
  /** Documents evaluated per file at most (the rest are ignored, with a note). */
  maxDocuments?: number;
  now?: Date;
  /** What registries said about the manifests' images (only with registry access on). */
  imageRegistry?: ImageRegistrySnapshot;
}

/** Groups whose documents are Kyverno's own inputs or outputs (tests, reports...), never manifests. */
const KYVERNO_OWN_GROUPS = new Set(['kyverno.io', 'policies.kyverno.io', 'cli.kyverno.io', 'wgpolicyk8s.io', 'reports.kyverno.io']);

/** Kubernetes resources (not policies, bindings, exceptions, tests or reports) in a parsed file. */
export function manifestDocuments(file: ParsedFile): ParsedDocument[] {
  return file.docs.filter((pd) => {
    if (!pd.apiVersion || !pd.kind || pd.doc.errors.length || pd.conversionError) return false;
    return classifyDocument(pd.value) === 'resource' && !KYVERNO_OWN_GROUPS.has(apiGroup(pd.apiVersion));
  });
}

/** The documents of a file that the workspace's evaluation uses (policies, exceptions, bindings). */
export function workspacePolicies(file: ParsedFile): WorkspacePolicy[] {
  const out: WorkspacePolicy[] = [];
  for (const pd of file.docs) {
    if (!pd.value || pd.doc.errors.length || pd.conversionError) continue;
    const cls = classifyDocument(pd.value);
    // A snapshot: the incremental re-parse later updates the editor's copy in place.
    if (cls === 'policy' || cls === 'exception' || cls === 'binding') out.push({ uri: file.uri, value: structuredClone(pd.value) as JsonObject });
  }
  return out;
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

/** Runs the workspace's policies over the file's manifests exactly as `kyverno-studio apply` would. */
export function evaluateManifestDocuments(file: ParsedFile, workspace: WorkspacePolicy[], opts: ManifestOptions = {}): ManifestEvaluation[] {
  const docs = manifestDocuments(file).slice(0, opts.maxDocuments ?? 200);
  const policies: JsonObject[] = [];
  const exceptions: JsonObject[] = [];
  const bindings: JsonObject[] = [];
  for (const w of workspace) {
    const cls = classifyDocument(w.value);
    if (cls === 'policy') policies.push(w.value);
    else if (cls === 'exception') exceptions.push(w.value);
    else if (cls === 'binding') bindings.push(w.value);
  }
  if (!docs.length || !policies.length) return [];
  // A `kind: List` stands for its items, as the CLI reads resource files.
  const targets = docs.flatMap((pd) => {
    const items = expandLists(pd.value);
    const inList = items[0] !== pd.value;
    return items.flatMap((value, i) => (isJsonObject(value) && typeof value.kind === 'string' && typeof value.apiVersion === 'string'
      ? [{ pd, itemPath: inList ? ['items', i] : [], value }]
      : []));
  });
  const resources = targets.map((t) => withDefaultNamespace(t.value));
  const cluster = offlineCluster({ exceptions, bindings, resources });
  if (opts.imageRegistry) cluster.imageRegistry = opts.imageRegistry;
  return evaluateResources({ policies, resources, cluster, now: opts.now }).map((ev, i) => ({
    pd: targets[i].pd,
    itemPath: targets[i].itemPath,
    resource: ev.resource,
    patched: ev.patched,
    responses: ev.responses,
  }));
}

export function evaluateManifests(file: ParsedFile, workspace: WorkspacePolicy[], opts: ManifestOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const ev of evaluateManifestDocuments(file, workspace, opts)) out.push(...manifestDiagnostics(file, ev));
  return out;
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
    const fix = mutationFix(file, pd, ops.map((o) => ({ ...o, path: prefix + o.path })), `Apply mutation from ${policyName}`);
    const range = fix ? at(pointerToPath(ops[0].path, response.resource)) : kindAt();
    out.push(diag(range, Severity.Information, Codes.mutation,
      `${policyName} would mutate this resource (${mutated.map((r) => r.name).join(', ')}): ${ops.map((o) => `${o.op} ${o.path}`).slice(0, 5).join('; ')}${ops.length > 5 ? '; …' : ''}`,
      fix));
  }
  return out;
}

type Op = { op: string; path: string; value?: unknown };

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
