/**
 * The policy CRDs shipped in deploy/crds (copied there by deploy/crds/generate.mjs), found next
 * to this module when run from source, or next to the bundle (dist/ → ../deploy/crds).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

type Json = Record<string, unknown>;

export interface CrdEntry {
  file: string;
  name: string;
  group: string;
  kind: string;
  plural: string;
  scope: 'Cluster' | 'Namespaced';
  versions: string[];
}

export function crdDirectory(): string {
  const candidates = [join(__dirname, 'crds'), join(__dirname, '..', 'deploy', 'crds'), join(__dirname, '..', '..', 'deploy', 'crds')];
  const found = candidates.find((d) => existsSync(join(d, 'index.json')));
  if (!found) throw new Error(`cannot find the bundled CRDs (deploy/crds/index.json); looked in ${candidates.join(', ')}`);
  return found;
}

export function crdIndex(dir = crdDirectory()): CrdEntry[] {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as CrdEntry[];
}

export function loadCrd(entry: CrdEntry, dir = crdDirectory()): Json {
  return parse(readFileSync(join(dir, entry.file), 'utf8'), { maxAliasCount: -1 }) as Json;
}

const REPORT_GROUP = 'wgpolicyk8s.io';

/**
 * CRDs the given policies need (their kinds); with the webhook (`withWebhook`), also the policy
 * report CRDs, Kyverno's UpdateRequest (the webhook's persisted background queue) and the
 * PolicyExceptions (classic and CEL) the webhook watches and honours: as with Kyverno's chart,
 * an exception can be applied with kubectl once the webhook is deployed.
 */
export function crdsFor(policies: Json[], index: CrdEntry[], withWebhook: boolean): CrdEntry[] {
  const wanted = new Set(policies.map((p) => `${String(p.apiVersion).split('/')[0]}|${String(p.kind)}`));
  const forWebhook = (e: CrdEntry) => e.group === REPORT_GROUP || (e.group === 'kyverno.io' && e.kind === 'UpdateRequest') || e.kind === 'PolicyException';
  return index.filter((e) => wanted.has(`${e.group}|${e.kind}`) || (withWebhook && forWebhook(e)));
}
