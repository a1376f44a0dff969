/**
 * Evaluates workspace policies against the Kubernetes manifests of an open file with the
 * engine (applyPolicy) and turns results into diagnostics at the blamed field. A mutation
 * that would change the manifest becomes an Information diagnostic carrying the edit.
 */
import { compare } from 'fast-json-patch';
import type { Document } from 'yaml';
import type { ParsedFile, ParsedDocument, Range } from './documents';
import { rangeForPath, rangeOf, findPath, nodeRange, pointerToPath } from './documents';
import { Codes, Severity, diag, type Diagnostic } from './codes';
import { applyPolicy } from '../../../engine/apply';
import type { JsonObject, PolicyResponse, AdmissionRequest, ClusterState } from '../../../engine/core/types';

export interface WorkspacePolicy { uri: string; value: JsonObject }

export interface MutationFix { title: string; uri: string; range: Range; newText: string }

export interface ManifestOptions {
  /** Documents evaluated per file at most (the rest are ignored, with a note). */
  maxDocuments?: number;
  now?: Date;
}

const POLICY_GROUPS = /^(kyverno\.io|policies\.kyverno\.io|cli\.kyverno\.io|wgpolicyk8s\.io|reports\.kyverno\.io)\//;

/** Kubernetes resources (not policies, tests or reports) in a parsed file. */
export function manifestDocuments(file: ParsedFile): ParsedDocument[] {
  return file.docs.filter((pd) => {
    if (!pd.apiVersion || !pd.kind || pd.doc.errors.length || pd.conversionError) return false;
    if (POLICY_GROUPS.test(pd.apiVersion)) return false;
    if (pd.apiVersion.startsWith('admissionregistration.k8s.io/') && /Admission/.test(pd.kind)) return false;
    return true;
  });
}

const EMPTY_CLUSTER: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

export function evaluateManifests(file: ParsedFile, policies: WorkspacePolicy[], opts: ManifestOptions = {}): Diagnostic[] {
  const docs = manifestDocuments(file);
  if (!docs.length || !policies.length) return [];
  const out: Diagnostic[] = [];
  const max = opts.maxDocuments ?? 200;
  for (const pd of docs.slice(0, max)) {
    const resource = pd.value as JsonObject;
    const ns = (resource.metadata as { namespace?: string } | undefined)?.namespace;
    const request: AdmissionRequest = {
      operation: 'CREATE',
      object: resource,
      oldObject: null,
      namespace: ns,
      requestInfo: { roles: [], clusterRoles: [], userInfo: {} },
    };
    for (const policy of policies) {
      let response: PolicyResponse;
      try {
        response = applyPolicy(policy.value, { request, cluster: EMPTY_CLUSTER, now: opts.now });
      } catch (e) {
        out.push(diag(kindRange(file, pd), Severity.Information, Codes.engineError, `${policyLabel(policy)}: engine error: ${(e as Error).message}`));
        continue;
      }
      for (const r of response.rules) {
        const label = `${response.policy.name}/${r.name}`;
        if (r.status === 'fail' || r.status === 'warn') {
          const enforce = r.failureAction === 'Enforce' && r.status === 'fail';
          const range = r.path?.length ? rangeForPath(file, pd, r.path) : kindRange(file, pd);
          out.push(diag(range, enforce ? Severity.Error : Severity.Warning, enforce ? Codes.violationEnforce : Codes.violationAudit,
            `${label}: ${r.message || 'validation failed'}${enforce ? '' : ' (Audit)'}`));
        } else if (r.status === 'error') {
          out.push(diag(r.path?.length ? rangeForPath(file, pd, r.path) : kindRange(file, pd), Severity.Warning, Codes.engineError, `${label}: ${r.message}`));
        }
      }
      const mutated = response.rules.filter((r) => r.type === 'Mutation' && r.status === 'pass');
      if (mutated.length && response.patchedResource) {
        const ops = compare(resource, response.patchedResource);
        if (ops.length) {
          const fix = mutationFix(file, pd, ops, `Apply mutation from ${response.policy.name}`);
          const range = fix ? rangeForPath(file, pd, pointerToPath(ops[0].path, resource)) : kindRange(file, pd);
          out.push(diag(range, Severity.Information, Codes.mutation,
            `${response.policy.name} would mutate this resource (${mutated.map((r) => r.name).join(', ')}): ${ops.map((o) => `${o.op} ${o.path}`).slice(0, 5).join('; ')}${ops.length > 5 ? '; …' : ''}`,
            fix));
        }
      }
    }
  }
  return out;
}

function policyLabel(p: WorkspacePolicy): string {
  const name = (p.value.metadata as { name?: string } | undefined)?.name;
  return `${String(p.value.kind)}/${name ?? '?'}`;
}

function kindRange(file: ParsedFile, pd: ParsedDocument): Range {
  const t = findPath(pd.doc, ['kind']);
  return t.found && t.value ? nodeRange(file, t.value) : rangeOf(file, pd.start, pd.start);
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
