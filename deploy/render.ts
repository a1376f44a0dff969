/**
 * `deploy --render DIR`: the planned objects of a deploy written as YAML for GitOps tools
 * (Argo CD, Flux, kustomize). The files come from the same Plan the live apply walks, in the
 * same order, so what a GitOps tool applies is what `deploy` would have applied. Private keys
 * stay out of the files unless asked for: a Secret carrying one is left out and named.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Plan } from './plan';

type Json = Record<string, unknown>;

export interface RenderOptions {
  /** Also write Secrets holding private keys (off by default: keys do not belong in git). */
  secrets?: boolean;
}

export interface RenderResult {
  /** Files written, relative to the directory, in apply order. */
  files: string[];
  /** Objects left out (Secrets with private keys), one line each. */
  omitted: string[];
}

/** A Secret whose data holds a private key (PEM "PRIVATE KEY" or a `*.key` entry). */
export function holdsPrivateKey(object: Json): boolean {
  if (object.kind !== 'Secret') return false;
  const data = { ...((object.data ?? {}) as Record<string, string>), ...((object.stringData ?? {}) as Record<string, string>) };
  return Object.entries(data).some(([key, value]) => {
    if (/\.key$|^key$|private/i.test(key)) return true;
    const text = object.data && key in (object.data as Json) ? Buffer.from(value, 'base64').toString('utf8') : value;
    return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
  });
}

function fileName(index: number, phase: string, object: Json): string {
  const meta = (object.metadata ?? {}) as Json;
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}.` : '';
  const safe = `${ns}${String(meta.name)}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${String(index).padStart(2, '0')}-${phase}-${String(object.kind).toLowerCase()}-${safe}.yaml`;
}

/** The plan's objects as YAML files in `dir` plus a kustomization.yaml listing them in order. */
export function renderPlan(plan: Plan, dir: string, opts: RenderOptions = {}): RenderResult {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const omitted: string[] = [];
  plan.objects.forEach(({ phase, object }, i) => {
    const meta = (object.metadata ?? {}) as Json;
    if (!opts.secrets && holdsPrivateKey(object)) {
      omitted.push(`Secret ${String(meta.namespace)}/${String(meta.name)} (holds a private key; create it out of band or render with --render-secrets)`);
      return;
    }
    const name = fileName(i + 1, phase, object);
    writeFileSync(join(dir, name), stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }), opts.secrets ? { mode: 0o600 } : undefined);
    files.push(name);
  });
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: files,
  };
  writeFileSync(join(dir, 'kustomization.yaml'), `# Rendered by kyverno-studio deploy --render (${plan.mode} mode); apply in this order.\n${stringify(kustomization)}`);
  return { files, omitted };
}
