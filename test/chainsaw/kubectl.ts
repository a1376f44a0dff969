/**
 * The `kubectl` of chainsaw's script and command steps, answered offline: the subcommands the
 * scenarios use (apply, create, delete, get, label, annotate, patch, scale, run) act on the
 * runner's store through the same admission path as the runner's own operations, and answer
 * in kubectl's formats (stdout, stderr with `Warning:` and `Error from server` lines, exit
 * code). Anything not answered faithfully (another subcommand, an unknown flag, a table of a
 * kind whose columns controllers fill, a Kyverno service account's RBAC) throws
 * KubectlUnsupported: the runner counts the whole step unsupported, whatever the script does
 * with the failure.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { applyPatch, type Operation as PatchOperation } from 'fast-json-patch';
import { parseYamlDocuments, apiGroup } from '../../engine/loader';
import { expandLists } from '../../engine/loader/classify';
import { asArray, asObject, isJsonObject } from '../../engine/core/json';
import type { JsonObject } from '../../engine/core/types';
import type { KindTable } from '../../engine/kube';
import { schemaForResource } from '../../engine/mutate';
import { strategicMerge } from '../../engine/mutate/strategicMerge';
import { crdIndex, loadCrd } from '../../deploy/crds';
import { apiServerAnswer } from '../../engine/context';
import { forbiddenMessage, rbacAuthorize } from './authorizer';
import { mergeObjects, refOfObject, type ObjectStore } from './store';
import { nameSuffix } from './controllers';

/** What kubectl cannot do faithfully offline: the step is unsupported, naming the command. */
export class KubectlUnsupported extends Error {}

export interface KubectlUser {
  username: string;
  groups: string[];
}

/** One write's outcome as the API server gives it. */
export interface WriteOutcome {
  /** The API server's refusal: a webhook denial text, or a status reason with its message. */
  error?: { reason?: 'NotFound' | 'AlreadyExists' | 'Forbidden' | 'Invalid'; message: string };
  /** Admission warnings (the API server's Warning headers), also on a refusal. */
  warnings: string[];
  /** The object as stored (absent after a delete or a refusal). */
  object?: JsonObject;
}

/** The Pod subresources whose requests the offline API server sends to admission. */
export type PodSubresource = 'exec' | 'ephemeralcontainers' | 'eviction' | 'binding';

/** What the runner's Scenario gives kubectl: its store, the kinds it serves and its admission path. */
export interface KubectlCluster {
  store: ObjectStore;
  kindTable(): KindTable;
  /** A whole object created or replaced (`create` refuses an existing one, `update` a missing one). */
  write(verb: 'create' | 'update', doc: JsonObject, user: KubectlUser): Promise<WriteOutcome>;
  remove(doc: JsonObject, user: KubectlUser): Promise<WriteOutcome>;
  /** The scale subresource of a stored object set to `replicas`. */
  scale(doc: JsonObject, replicas: number, user: KubectlUser): Promise<WriteOutcome>;
  /** A request on a stored Pod's subresource (its body: PodExecOptions, the updated Pod, an Eviction), through admission. */
  subresource(pod: JsonObject, name: PodSubresource, body: JsonObject, user: KubectlUser): Promise<WriteOutcome>;
  /** An update of a stored object's status subresource (the object with its new status), through admission. */
  status(current: JsonObject, updated: JsonObject, user: KubectlUser): Promise<WriteOutcome>;
  /** The identity of chainsaw's kubeconfig (a kind cluster's admin). */
  admin: KubectlUser;
  /** The namespace Kyverno runs in (its own install's objects are not offline). */
  kyvernoNamespace: string;
  /** Whether Kyverno's CI installs the kubectl-evict plugin for the area (`kubectl evict`). */
  kubectlEvict?: boolean;
}

export interface KubectlRequest {
  argv: string[];
  cwd: string;
  stdin?: string;
  /** The KUBECONFIG the call sees, and the one chainsaw wrote for the step. */
  kubeconfig?: string;
  stepKubeconfig?: string;
}

export interface KubectlReply {
  stdout: string;
  stderr: string;
  code: number;
  /**
   * An admitted `kubectl exec`'s command (`ls in ns/pod/container`): the kubelet would run it in
   * the container; offline it runs nowhere, so its output and exit status are not known.
   */
  remoteCommand?: string;
}

// ---- arguments ----------------------------------------------------------------------------

/** Flags that take a value (kubectl's, the ones the offline kubectl knows). */
const VALUE_FLAGS: Record<string, string> = {
  '-n': 'namespace', '--namespace': 'namespace', '-f': 'filename', '--filename': 'filename', '-o': 'output', '--output': 'output',
  '-l': 'selector', '--selector': 'selector', '-p': 'patch', '--patch': 'patch', '--patch-file': 'patch-file', '--type': 'type',
  '--replicas': 'replicas', '--image': 'image', '--as': 'as', '--as-group': 'as-group', '--kubeconfig': 'kubeconfig',
  '--from-literal': 'from-literal', '--schedule': 'schedule', '--grace-period': 'grace-period', '--timeout': 'timeout',
  '--labels': 'labels', '--restart': 'restart', '-c': 'container', '--container': 'container', '--context': 'context', '--field-manager': 'field-manager',
  '--target': 'target', '--for': 'for',
  // create rolebinding / clusterrolebinding: the role and the subjects.
  '--role': 'role', '--clusterrole': 'clusterrole', '--user': 'user', '--group': 'group', '--serviceaccount': 'serviceaccount',
};
/** Boolean flags (`--x` or `--x=true|false`). */
const BOOL_FLAGS: Record<string, string> = {
  '-A': 'all-namespaces', '--all-namespaces': 'all-namespaces', '--all': 'all', '--no-headers': 'no-headers', '--overwrite': 'overwrite',
  '--ignore-not-found': 'ignore-not-found', '--wait': 'wait', '--force': 'force', '--record': 'record',
  '-i': 'interactive', '--stdin': 'interactive', '-t': 'tty', '--tty': 'tty', '--validate': 'validate', '-q': 'quiet', '--quiet': 'quiet',
};

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

/** kubectl's command line: positional words and flags (`-n x`, `-n=x`, `--namespace x`, `--namespace=x`, `-nx`). */
export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  const add = (name: string, value: string) => flags.set(name, [...(flags.get(name) ?? []), value]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_FLAGS[name]) {
      if (eq > 0) add(VALUE_FLAGS[name], a.slice(eq + 1));
      else if (i + 1 < argv.length) add(VALUE_FLAGS[name], argv[++i]);
      else throw new KubectlUnsupported(`flag ${name} without a value`);
      continue;
    }
    if (BOOL_FLAGS[name]) {
      add(BOOL_FLAGS[name], eq > 0 ? a.slice(eq + 1) : 'true');
      continue;
    }
    // Combined short booleans: -it, -ti.
    if (/^-[it]{2}$/.test(a) && a[1] !== a[2]) {
      add('interactive', 'true');
      add('tty', 'true');
      continue;
    }
    // A short flag with its value attached: -nfoo, -ojson.
    if (/^-[nfolpc]./.test(a) && !a.startsWith('--')) {
      add(VALUE_FLAGS[a.slice(0, 2)], a.slice(2));
      continue;
    }
    throw new KubectlUnsupported(`flag ${name}`);
  }
  return { positional, flags };
}

function flag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return v?.[v.length - 1];
}

function boolFlag(args: ParsedArgs, name: string): boolean {
  const v = flag(args, name);
  return v !== undefined && v !== 'false';
}

// ---- resources ----------------------------------------------------------------------------

/** The short names kubectl's discovery gives the built-in kinds. */
const BUILTIN_SHORT_NAMES: Record<string, string> = {
  po: 'pods', cm: 'configmaps', ns: 'namespaces', no: 'nodes', svc: 'services', sa: 'serviceaccounts', ep: 'endpoints',
  ev: 'events', limits: 'limitranges', quota: 'resourcequotas', pv: 'persistentvolumes', pvc: 'persistentvolumeclaims',
  deploy: 'deployments', sts: 'statefulsets', ds: 'daemonsets', rs: 'replicasets', cj: 'cronjobs', hpa: 'horizontalpodautoscalers',
  ing: 'ingresses', netpol: 'networkpolicies', pdb: 'poddisruptionbudgets', csr: 'certificatesigningrequests',
  crd: 'customresourcedefinitions', crds: 'customresourcedefinitions', pc: 'priorityclasses', sc: 'storageclasses',
};

let crdShortNames: Record<string, string> | undefined;

/** The short names the bundled Kyverno CRDs declare (`cpol`, `ur`, `polr`...). */
function bundledShortNames(): Record<string, string> {
  if (crdShortNames) return crdShortNames;
  crdShortNames = {};
  for (const entry of crdIndex()) {
    for (const s of asArray(asObject(asObject(loadCrd(entry).spec).names).shortNames)) crdShortNames[String(s)] = `${entry.plural}.${entry.group}`;
  }
  return crdShortNames;
}

export interface Resource {
  group: string;
  version: string;
  kind: string;
  plural: string;
}

/** A resource argument (`pods`, `pod`, `po`, `Pod`, `deployments.apps`, `cpol`) as kubectl's RESTMapper resolves it. */
export function resolveResource(arg: string, table: KindTable, store?: ObjectStore): Resource {
  let word = arg.toLowerCase();
  const shortNames: Record<string, string> = { ...BUILTIN_SHORT_NAMES, ...bundledShortNames() };
  for (const crd of store?.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition') ?? []) {
    const spec = asObject(crd.spec);
    for (const s of asArray(asObject(spec.names).shortNames)) shortNames[String(s)] = `${String(asObject(spec.names).plural)}.${String(spec.group)}`;
  }
  word = shortNames[word] ?? word;
  const dot = word.indexOf('.');
  const name = dot >= 0 ? word.slice(0, dot) : word;
  const group = dot >= 0 ? word.slice(dot + 1) : undefined;
  const found: Resource[] = [];
  for (const [kind, entries] of table) {
    for (const e of entries) {
      if (e.resource.includes('/')) continue;
      if (group !== undefined && e.group !== group) continue;
      if (e.resource === name || kind.toLowerCase() === name) found.push({ group: e.group, version: e.version, kind, plural: e.resource });
    }
  }
  // kubectl prefers the core group, then the first group discovery lists (Event: core before events.k8s.io).
  found.sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : 0));
  if (!found.length) return unknownResource(arg);
  return found[0];
}

function unknownResource(arg: string): never {
  throw new KubectlFailure(`error: the server doesn't have a resource type "${arg}"`);
}

const apiVersionOf = (r: Resource) => (r.group ? `${r.group}/${r.version}` : r.version);
/** `pod`, `deployment.apps`, `clusterpolicy.kyverno.io`: how kubectl names a kind in its messages. */
const kindName = (r: Pick<Resource, 'group' | 'kind'>) => `${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}`;
/** `pods`, `deployments.apps`: the qualified resource of the API server's status messages. */
const qualifiedResource = (r: Pick<Resource, 'group' | 'plural'>) => `${r.plural}${r.group ? `.${r.group}` : ''}`;

function resourceOfObject(obj: JsonObject, table: KindTable): Resource {
  const apiVersion = String(obj.apiVersion ?? '');
  const group = apiGroup(apiVersion);
  const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
  const kind = String(obj.kind ?? '');
  const entry = (table.get(kind) ?? []).find((e) => e.group === group && !e.resource.includes('/'));
  return { group, version, kind, plural: entry?.resource ?? `${kind.toLowerCase()}s` };
}

// ---- output -------------------------------------------------------------------------------

/** kubectl's exit: stdout and stderr lines, and whether an error was met. */
class Output {
  /** stdout's lines; a jsonpath result is printed as is, without a newline. */
  readonly out: string[] = [];
  private raw = '';
  readonly err: string[] = [];
  failed = false;
  remoteCommand?: string;
  print(text: string): void {
    this.raw += text;
  }
  warn(warnings: string[]): void {
    for (const w of warnings) this.err.push(`Warning: ${w}`);
  }
  error(text: string): void {
    this.err.push(text);
    this.failed = true;
  }
  reply(): KubectlReply {
    const join = (lines: string[]) => (lines.length ? lines.join('\n') + '\n' : '');
    return { stdout: join(this.out) + this.raw, stderr: join(this.err), code: this.failed ? 1 : 0, ...(this.remoteCommand ? { remoteCommand: this.remoteCommand } : {}) };
  }
}

/** An error that ends the command (kubectl's CheckErr). */
class KubectlFailure extends Error {}

/** `Error from server (Reason): <context><message>` as kubectl prints an API error. */
function serverError(error: NonNullable<WriteOutcome['error']>, context = ''): string {
  // An Invalid status is printed as its message alone (`The X "n" is invalid: ...`).
  if (error.reason === 'Invalid') return error.message;
  return `Error from server${error.reason ? ` (${error.reason})` : ''}: ${context}${error.message}`;
}

// ---- jsonpath -----------------------------------------------------------------------------

type PathStep = { field: string } | { index: number } | { all: true };

function parsePath(expr: string, template: string): PathStep[] {
  const steps: PathStep[] = [];
  let i = 0;
  const text = expr.trim();
  if (text === '' || text === '.' || text === '@') return steps;
  while (i < text.length) {
    const c = text[i];
    if (c === '.') {
      i++;
      let name = '';
      while (i < text.length && text[i] !== '.' && text[i] !== '[') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        name += text[i++];
      }
      if (name === '*') steps.push({ all: true });
      else if (name) steps.push({ field: name });
      continue;
    }
    if (c === '[') {
      const end = text.indexOf(']', i);
      if (end < 0) throw new KubectlFailure(`error: error parsing jsonpath ${template}, unclosed array expect ]`);
      const inner = text.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^'[^']*'$|^"[^"]*"$/.test(inner)) steps.push({ field: inner.slice(1, -1) });
      else throw new KubectlUnsupported(`jsonpath ${template} (filters, slices and unions)`);
      continue;
    }
    throw new KubectlUnsupported(`jsonpath ${template}`);
  }
  return steps;
}

function walkPath(values: unknown[], steps: PathStep[]): unknown[] {
  let current = values;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if ('field' in step) {
        if (isJsonObject(v) && step.field in v) next.push(v[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(v)) {
          const k = step.index < 0 ? v.length + step.index : step.index;
          if (k >= 0 && k < v.length) next.push(v[k]);
        }
      } else if (Array.isArray(v)) next.push(...v);
      else if (isJsonObject(v)) next.push(...Object.values(v));
    }
    current = next;
  }
  return current;
}

/** A value as kubectl's jsonpath prints it: text as is, maps and lists as JSON. */
function printValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * kubectl's `-o jsonpath=<template>`: literal text and `{...}` field paths (`.a.b`, `[n]`,
 * `[*]`, `['k']`, escaped dots); several results are joined by spaces; a missing field prints
 * nothing (kubectl get allows missing keys). `range`, filters and functions are not offline.
 */
export function jsonpath(template: string, data: unknown): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, open);
    const close = template.indexOf('}', open);
    if (close < 0) throw new KubectlFailure(`error: error parsing jsonpath ${template}, unclosed action`);
    const expr = template.slice(open + 1, close);
    if (/^\s*(range|end|len|"|')/.test(expr) || expr.includes('?(')) throw new KubectlUnsupported(`jsonpath ${template}`);
    const steps = parsePath(expr.trim().startsWith('$') ? expr.trim().slice(1) : expr, template);
    out += walkPath([data], steps).map(printValue).join(' ');
    i = close + 1;
  }
  return out;
}

// ---- printing objects ---------------------------------------------------------------------

/** The List kubectl prints for several objects in JSON or YAML. */
function listOf(items: JsonObject[]): JsonObject {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

function printObjects(out: Output, format: string, objects: JsonObject[], single: boolean, table: KindTable): void {
  const data = single ? objects[0] : listOf(objects);
  if (format === 'json') out.out.push(JSON.stringify(data, null, 4));
  else if (format === 'yaml') out.out.push(yamlStringify(data).replace(/\n$/, ''));
  else if (format === 'name') for (const o of objects) out.out.push(`${kindName(resourceOfObject(o, table))}/${String(asObject(o.metadata).name)}`);
  else if (format.startsWith('jsonpath=') || format.startsWith('jsonpath-as-json=')) {
    if (format.startsWith('jsonpath-as-json=')) throw new KubectlUnsupported('-o jsonpath-as-json');
    out.print(jsonpath(format.slice('jsonpath='.length), data));
  } else throw new KubectlUnsupported(`-o ${format}`);
}

// ---- the commands -------------------------------------------------------------------------

interface Context {
  cluster: KubectlCluster;
  request: KubectlRequest;
  args: ParsedArgs;
  user: KubectlUser;
  namespace: string;
  out: Output;
}

/** The documents of `-f` (files, a folder's .yaml/.yml/.json files, `-` for stdin), each with the name kubectl reports. */
function readFilenames(ctx: Context): Array<{ source: string; doc: JsonObject }> {
  const names = (ctx.args.flags.get('filename') ?? []).flatMap((f) => f.split(','));
  if (!names.length) throw new KubectlFailure('error: must specify one of -f and -k');
  const docs: Array<{ source: string; doc: JsonObject }> = [];
  const load = (text: string, source: string) => {
    const parsed = parseYamlDocuments(text, source);
    if (parsed.errors.length) throw new KubectlFailure(`error: error parsing ${source}: ${parsed.errors[0].message}`);
    for (const d of parsed.documents) if (isJsonObject(d.value)) docs.push({ source, doc: d.value });
  };
  for (const name of names) {
    if (/^https?:\/\//.test(name)) throw new KubectlUnsupported(`-f ${name} (a URL)`);
    if (name === '-' || name === '/dev/stdin') {
      load(ctx.request.stdin ?? '', 'STDIN');
      continue;
    }
    const path = resolve(ctx.request.cwd, name);
    if (!existsSync(path)) throw new KubectlFailure(`error: the path "${name}" does not exist`);
    if (statSync(path).isDirectory()) {
      for (const f of readdirSync(path).sort()) if (['.yaml', '.yml', '.json'].includes(extname(f))) load(readFileSync(join(path, f), 'utf8'), join(name, f));
    } else load(readFileSync(path, 'utf8'), name);
  }
  // A List's items are applied one by one.
  return docs.flatMap((d) => expandLists(d.doc).filter(isJsonObject).map((doc) => ({ source: d.source, doc })));
}

/** The namespace kubectl sends an object to: the file's, else the command's (a different one is refused). */
function placed(ctx: Context, doc: JsonObject, table: KindTable): JsonObject {
  const r = resourceOfObject(doc, table);
  if (!ctx.cluster.store.isNamespaced(apiVersionOf(r), r.kind)) return doc;
  const meta = asObject(doc.metadata);
  const explicit = flag(ctx.args, 'namespace');
  if (typeof meta.namespace === 'string' && meta.namespace) {
    if (explicit !== undefined && explicit !== meta.namespace) throw new KubectlFailure(`error: the namespace from the provided object "${meta.namespace}" does not match the namespace "${explicit}". You must pass '--namespace=${meta.namespace}' to perform this operation.`);
    return doc;
  }
  return { ...doc, metadata: { ...meta, namespace: ctx.namespace } };
}

/** The API server's RBAC check of an impersonated user (the admin of chainsaw's kubeconfig is allowed everything). */
function authorize(ctx: Context, verb: string, r: Resource, namespace: string | undefined, name: string, subresource = ''): WriteOutcome['error'] | undefined {
  if (ctx.user === ctx.cluster.admin) return undefined;
  const resource = { verb, group: r.group, resource: r.plural, subresource, namespace: namespace ?? '', name };
  const { allowed } = rbacAuthorize(ctx.cluster.store.all(), { user: ctx.user.username, groups: ctx.user.groups, resource });
  if (allowed) return undefined;
  return { reason: 'Forbidden', message: forbiddenMessage(ctx.user.username, resource) };
}

/** A stored object compared without what the API server changes on every write. */
function sameContent(a: JsonObject | undefined, b: JsonObject | undefined): boolean {
  const strip = (o: JsonObject | undefined) => (o ? { ...o, metadata: { ...asObject(o.metadata), resourceVersion: undefined, generation: undefined, managedFields: undefined } } : o);
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

async function applyOrCreate(ctx: Context, verb: 'apply' | 'create'): Promise<void> {
  const table = ctx.cluster.kindTable();
  for (const { source, doc: raw } of readFilenames(ctx)) {
    const doc = placed(ctx, raw, table);
    const r = resourceOfObject(doc, table);
    const meta = asObject(doc.metadata);
    const name = String(meta.name ?? '');
    if (!name) {
      if (typeof meta.generateName === 'string' && verb === 'create') throw new KubectlUnsupported('create of an object with generateName');
      ctx.out.error(`error: error when retrieving current configuration of:\nResource: "${qualifiedResource(r)}", GroupVersionKind: "${apiVersionOf(r)}, Kind=${r.kind}"\nName: "", Namespace: "${String(meta.namespace ?? '')}"\nfrom server for: "${source}": resource name may not be empty`);
      continue;
    }
    const existing = ctx.cluster.store.get(refOfObject(doc));
    const ns = typeof asObject(doc.metadata).namespace === 'string' ? String(asObject(doc.metadata).namespace) : undefined;
    if (verb === 'apply' && existing) {
      const denied = authorize(ctx, 'patch', r, ns, name);
      if (denied) {
        ctx.out.error(serverError(denied, `error when applying patch to "${source}": `));
        continue;
      }
      const outcome = await ctx.cluster.write('update', mergeObjects(existing, doc) as JsonObject, ctx.user);
      ctx.out.warn(outcome.warnings);
      // kubectl's message for a refused apply patch names the object and the file.
      if (outcome.error) ctx.out.error(serverError(outcome.error, `error when applying patch:\nto:\nResource: "${qualifiedResource(r)}", GroupVersionKind: "${apiVersionOf(r)}, Kind=${r.kind}"\nName: "${name}", Namespace: "${ns ?? ''}"\nfor: "${source}": error when patching "${source}": `));
      else ctx.out.out.push(`${kindName(r)}/${name} ${sameContent(existing, outcome.object) ? 'unchanged' : 'configured'}`);
      continue;
    }
    const denied = authorize(ctx, 'create', r, ns, name);
    if (denied) {
      ctx.out.error(serverError(denied, `error when creating "${source}": `));
      continue;
    }
    if (existing) {
      ctx.out.error(serverError({ reason: 'AlreadyExists', message: `${qualifiedResource(r)} "${name}" already exists` }, `error when creating "${source}": `));
      continue;
    }
    const outcome = await ctx.cluster.write('create', doc, ctx.user);
    ctx.out.warn(outcome.warnings);
    if (outcome.error) ctx.out.error(serverError(outcome.error, `error when creating "${source}": `));
    else ctx.out.out.push(`${kindName(r)}/${name} created`);
  }
}

/** `kubectl create <generator>`: the objects kubectl builds for `namespace`, `configmap`, `deployment`, `cronjob`. */
function generated(ctx: Context): JsonObject {
  const [, what, name] = ctx.args.positional;
  if (!name) throw new KubectlFailure(`error: exactly one NAME is required, got 0`);
  const image = flag(ctx.args, 'image');
  switch (what) {
    case 'namespace':
    case 'ns':
      return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {}, status: {} };
    case 'configmap':
    case 'cm': {
      if ([...ctx.args.flags.keys()].some((k) => !['from-literal', 'namespace', 'as', 'as-group'].includes(k))) throw new KubectlUnsupported(`create configmap with ${[...ctx.args.flags.keys()].join(', ')}`);
      const data: Record<string, string> = {};
      for (const lit of ctx.args.flags.get('from-literal') ?? []) {
        const eq = lit.indexOf('=');
        if (eq <= 0) throw new KubectlFailure(`error: invalid literal source ${lit}, expected key=value`);
        data[lit.slice(0, eq)] = lit.slice(eq + 1);
      }
      return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, ...(Object.keys(data).length ? { data } : {}) };
    }
    case 'deployment':
    case 'deploy': {
      if (!image) throw new KubectlFailure('error: required flag(s) "image" not set');
      const replicas = Number(flag(ctx.args, 'replicas') ?? '1');
      const labels = { app: name };
      return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels }, spec: { replicas, selector: { matchLabels: labels }, strategy: {}, template: { metadata: { labels }, spec: { containers: [{ name: containerNameOf(image), image, resources: {} }] } } }, status: {} };
    }
    case 'cronjob':
    case 'cj': {
      if (!image) throw new KubectlFailure('error: required flag(s) "image" not set');
      const schedule = flag(ctx.args, 'schedule') ?? '';
      return { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name }, spec: { jobTemplate: { metadata: { name }, spec: { template: { metadata: {}, spec: { containers: [{ name, image, resources: {} }], restartPolicy: flag(ctx.args, 'restart') ?? 'OnFailure' } } } }, schedule }, status: {} };
    }
    case 'rolebinding':
    case 'clusterrolebinding':
      return roleBinding(ctx, what, name);
    default:
      throw new KubectlUnsupported(`kubectl create ${what}`);
  }
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/**
 * `kubectl create rolebinding|clusterrolebinding NAME`: kubectl's object, its role (a
 * RoleBinding names exactly one of --role or --clusterrole, a ClusterRoleBinding a
 * --clusterrole) and its subjects: the users, then the groups, then the service accounts
 * (`NAMESPACE:NAME`).
 */
function roleBinding(ctx: Context, what: 'rolebinding' | 'clusterrolebinding', name: string): JsonObject {
  const allowed = ['role', 'clusterrole', 'user', 'group', 'serviceaccount', 'namespace', 'as', 'as-group'];
  const unknown = [...ctx.args.flags.keys()].filter((k) => !allowed.includes(k));
  if (unknown.length) throw new KubectlUnsupported(`create ${what} with ${unknown.join(', ')}`);
  const role = flag(ctx.args, 'role');
  const clusterRole = flag(ctx.args, 'clusterrole');
  if (what === 'clusterrolebinding' && role !== undefined) throw new KubectlFailure('error: unknown flag: --role');
  if (what === 'clusterrolebinding' && !clusterRole) throw new KubectlFailure('error: required flag(s) "clusterrole" not set');
  if (what === 'rolebinding' && (role === undefined) === (clusterRole === undefined)) throw new KubectlFailure('error: exactly one of clusterrole or role must be specified');
  const subjects: JsonObject[] = [
    ...(ctx.args.flags.get('user') ?? []).map((user) => ({ kind: 'User', apiGroup: RBAC_GROUP, name: user })),
    ...(ctx.args.flags.get('group') ?? []).map((group) => ({ kind: 'Group', apiGroup: RBAC_GROUP, name: group })),
  ];
  for (const account of ctx.args.flags.get('serviceaccount') ?? []) {
    const parts = account.split(':');
    if (parts.length !== 2) throw new KubectlFailure(`error: serviceaccount must be <namespace>:<name>`);
    subjects.push({ kind: 'ServiceAccount', namespace: parts[0], name: parts[1] });
  }
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: what === 'rolebinding' ? 'RoleBinding' : 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: RBAC_GROUP, kind: role !== undefined ? 'Role' : 'ClusterRole', name: role ?? clusterRole },
    ...(subjects.length ? { subjects } : {}),
  };
}

/** kubectl create deployment's container name: the image's last path element, without tag or digest. */
function containerNameOf(image: string): string {
  const last = image.split('/').pop() ?? image;
  return last.split('@')[0].split(':')[0];
}

async function createGenerated(ctx: Context, doc: JsonObject): Promise<void> {
  const table = ctx.cluster.kindTable();
  const placedDoc = placed(ctx, doc, table);
  const r = resourceOfObject(placedDoc, table);
  const name = String(asObject(placedDoc.metadata).name);
  const ns = asObject(placedDoc.metadata).namespace as string | undefined;
  const denied = authorize(ctx, 'create', r, ns, name);
  if (denied) throw new KubectlFailure(serverError(denied));
  if (ctx.cluster.store.get(refOfObject(placedDoc))) throw new KubectlFailure(serverError({ reason: 'AlreadyExists', message: `${qualifiedResource(r)} "${name}" already exists` }));
  const outcome = await ctx.cluster.write('create', placedDoc, ctx.user);
  ctx.out.warn(outcome.warnings);
  if (outcome.error) throw new KubectlFailure(serverError(outcome.error));
  ctx.out.out.push(`${kindName(r)}/${name} created`);
}

/** `kubectl run NAME --image=IMAGE`: the Pod kubectl builds. */
function runPod(ctx: Context): JsonObject {
  const name = ctx.args.positional[1];
  const image = flag(ctx.args, 'image');
  if (!name) throw new KubectlFailure('error: NAME is required for run');
  if (!image) throw new KubectlFailure('error: required flag(s) "image" not set');
  if (ctx.args.positional.length > 2 || [...ctx.args.flags.keys()].some((k) => !['image', 'namespace', 'as', 'as-group', 'restart', 'labels'].includes(k))) throw new KubectlUnsupported(`kubectl run with ${[...ctx.args.flags.keys()].join(', ')} ${ctx.args.positional.slice(2).join(' ')}`.trim());
  const labels: Record<string, string> = {};
  const given = flag(ctx.args, 'labels');
  if (given) for (const kv of given.split(',')) labels[kv.split('=')[0]] = kv.split('=').slice(1).join('=');
  else labels.run = name;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name, image, resources: {} }], dnsPolicy: 'ClusterFirst', restartPolicy: flag(ctx.args, 'restart') ?? 'Always' }, status: {} };
}

/** `TYPE NAME...`, `TYPE/NAME...`: the objects a command names. */
function namedObjects(ctx: Context, words: string[]): Array<{ r: Resource; name: string }> {
  const table = ctx.cluster.kindTable();
  if (!words.length) throw new KubectlFailure('error: you must specify the type of resource to get');
  if (words[0].includes('/')) {
    return words.map((w) => {
      const [type, name] = w.split('/');
      if (!name) throw new KubectlFailure(`error: arguments in resource/name form must have a single resource and name`);
      return { r: resolveResource(type, table, ctx.cluster.store), name };
    });
  }
  const r = resolveResource(words[0], table, ctx.cluster.store);
  return words.slice(1).map((name) => ({ r, name }));
}

function namespaceFor(ctx: Context, r: Resource): string | undefined {
  return ctx.cluster.store.isNamespaced(apiVersionOf(r), r.kind) ? ctx.namespace : undefined;
}

/** The stored object a name designates, at the version asked for; a NotFound error otherwise. */
function fetch(ctx: Context, r: Resource, name: string): JsonObject | WriteOutcome['error'] {
  const o = ctx.cluster.store.get({ apiVersion: apiVersionOf(r), kind: r.kind, namespace: namespaceFor(ctx, r), name });
  if (!o) return { reason: 'NotFound', message: `${qualifiedResource(r)} "${name}" not found` };
  return { ...o, apiVersion: apiVersionOf(r) };
}

/** Kinds whose objects only controllers the runner does not have write (asked about, their absence proves nothing). */
const CONTROLLER_ONLY_KINDS = new Set(['EphemeralReport', 'ClusterEphemeralReport', 'Node', 'Lease', 'Endpoints', 'EndpointSlice']);

/**
 * Kinds our product writes in Kyverno's namespace (its background controller's UpdateRequests):
 * listing them there reads what the product did, not Kyverno's install.
 */
const PRODUCT_KINDS_IN_KYVERNO_NAMESPACE = new Set(['UpdateRequest']);

/** Go's duration.HumanDuration (apimachinery), as kubectl's tables print ages. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) return Math.floor(hours / 24) % 365 === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${Math.floor(hours / 24) % 365}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Rows as kubectl's tabwriter aligns them (minimum width 6, padding 3; the last column unpadded). */
function tabulate(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(6, ...rows.map((r) => r[i].length + 3)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('').trimEnd());
}

/**
 * Events as the API server's table for them prints (printEvent): LAST SEEN, TYPE, REASON, OBJECT
 * (the involved object's kind, lowercased, and name), MESSAGE. Only our event writer's (and the
 * modelled controllers') are stored: events of kube's unmodelled controllers are missing lines.
 */
function eventTable(events: JsonObject[], now: number): string[] {
  const time = (v: unknown) => (typeof v === 'string' && v ? Date.parse(v) : NaN);
  const rows = events.map((e) => {
    const first = time(e.firstTimestamp) || time(e.eventTime);
    const last = time(asObject(e.series).lastObservedTime) || time(e.lastTimestamp) || first;
    const involved = asObject(e.involvedObject);
    const kind = String(involved.kind ?? '').toLowerCase();
    return [Number.isFinite(last) ? humanDuration(now - last) : '<unknown>', String(e.type ?? ''), String(e.reason ?? ''), involved.name ? `${kind}/${String(involved.name)}` : kind, String(e.message ?? '').trim()];
  });
  return tabulate([['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], ...rows]);
}

/** The kinds of Kyverno's own workloads in its namespace (its install's, which the offline runner does not have). */
const INSTALL_WORKLOAD_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Pod', 'Service']);

async function get(ctx: Context): Promise<void> {
  const words = ctx.args.positional.slice(1);
  const format = flag(ctx.args, 'output');
  const all = boolFlag(ctx.args, 'all-namespaces');
  const selector = flag(ctx.args, 'selector');
  const table = ctx.cluster.kindTable();
  const type = words[0]?.includes('/') ? undefined : words[0];
  if (type?.includes(',')) throw new KubectlUnsupported('kubectl get of several types');
  const named = type !== undefined && words.length === 1 ? undefined : namedObjects(ctx, words);
  let objects: JsonObject[] = [];
  if (named) {
    for (const { r, name } of named) {
      if (CONTROLLER_ONLY_KINDS.has(r.kind)) throw new KubectlUnsupported(`kubectl get ${qualifiedResource(r)}: written by controllers the offline runner does not have`);
      const denied = authorize(ctx, 'get', r, namespaceFor(ctx, r), name);
      const o = denied ?? fetch(ctx, r, name);
      // Kyverno's own workloads (its controllers' Deployments, Pods and Services) are its install, which our deploy stands for.
      if (!denied && o && 'message' in o && !('kind' in o) && o.reason === 'NotFound' && namespaceFor(ctx, r) === ctx.cluster.kyvernoNamespace && INSTALL_WORKLOAD_KINDS.has(r.kind)) {
        throw new KubectlUnsupported(`kubectl get ${qualifiedResource(r)}/${name} -n ${ctx.cluster.kyvernoNamespace}: Kyverno's own install is not offline`);
      }
      if (o && 'message' in o && !('kind' in o)) {
        if (!boolFlag(ctx.args, 'ignore-not-found') || o.reason !== 'NotFound') ctx.out.error(serverError(o as NonNullable<WriteOutcome['error']>));
      } else objects.push(o as JsonObject);
    }
  } else {
    const r = resolveResource(type!, table, ctx.cluster.store);
    if (CONTROLLER_ONLY_KINDS.has(r.kind)) throw new KubectlUnsupported(`kubectl get ${qualifiedResource(r)}: written by controllers the offline runner does not have`);
    const ns = all ? undefined : namespaceFor(ctx, r);
    if ((ns === ctx.cluster.kyvernoNamespace && !PRODUCT_KINDS_IN_KYVERNO_NAMESPACE.has(r.kind)) || (all && r.group === '' && ['Pod', 'Service', 'ConfigMap', 'Secret'].includes(r.kind))) throw new KubectlUnsupported(`kubectl get ${qualifiedResource(r)}${ns ? ` -n ${ns}` : ' -A'}: Kyverno's own install is not offline`);
    const denied = authorize(ctx, 'list', r, ns, '');
    if (denied) throw new KubectlFailure(serverError(denied));
    objects = ctx.cluster.store.list(apiVersionOf(r), r.kind, ns, selector).map((o) => ({ ...o, apiVersion: apiVersionOf(r) }));
    objects.sort((a, b) => `${String(asObject(a.metadata).namespace ?? '')}/${String(asObject(a.metadata).name)}`.localeCompare(`${String(asObject(b.metadata).namespace ?? '')}/${String(asObject(b.metadata).name)}`));
    if (!objects.length && (format === undefined || format === 'wide' || format === 'name')) {
      ctx.out.err.push(ns && !all ? `No resources found in ${ns} namespace.` : 'No resources found');
      return;
    }
  }
  if (format === undefined || format === 'wide') {
    if (!objects.length) return;
    if (format === undefined && objects[0].kind === 'Event' && apiGroup(String(objects[0].apiVersion)) === '') return void ctx.out.out.push(...eventTable(objects, ctx.cluster.store.now()));
    throw new KubectlUnsupported(`kubectl get ${words.join(' ')} as a table (its columns)`);
  }
  if (!objects.length && named) return;
  printObjects(ctx.out, format, objects, named !== undefined && named.length === 1, table);
}

async function remove(ctx: Context): Promise<void> {
  const table = ctx.cluster.kindTable();
  const ignoreMissing = boolFlag(ctx.args, 'ignore-not-found');
  if (boolFlag(ctx.args, 'force')) ctx.out.warn(['Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.']);
  const targets: Array<{ r: Resource; name: string; namespace?: string; source?: string }> = [];
  if (ctx.args.flags.has('filename')) {
    for (const { source, doc } of readFilenames(ctx)) {
      const d = placed(ctx, doc, table);
      targets.push({ r: resourceOfObject(d, table), name: String(asObject(d.metadata).name), namespace: asObject(d.metadata).namespace as string | undefined, source });
    }
  } else if (boolFlag(ctx.args, 'all') || (ctx.args.flags.has('selector') && ctx.args.positional.length === 2 && !ctx.args.positional[1].includes('/'))) {
    const r = resolveResource(ctx.args.positional[1] ?? '', table, ctx.cluster.store);
    const all = boolFlag(ctx.args, 'all-namespaces');
    const ns = all ? undefined : namespaceFor(ctx, r);
    if (ns === ctx.cluster.kyvernoNamespace) throw new KubectlUnsupported(`kubectl delete ${qualifiedResource(r)} -n ${ns}: Kyverno's own install is not offline`);
    const found = ctx.cluster.store.list(apiVersionOf(r), r.kind, ns, flag(ctx.args, 'selector'));
    // Deleting every object of a kind controllers write is a cleanup with nothing to clean offline.
    if (!found.length) {
      ctx.out.err.push(ns && !all ? `No resources found in ${ns} namespace.` : 'No resources found');
      return;
    }
    for (const o of found) targets.push({ r, name: String(asObject(o.metadata).name), namespace: asObject(o.metadata).namespace as string | undefined });
  } else {
    for (const { r, name } of namedObjects(ctx, ctx.args.positional.slice(1))) targets.push({ r, name, namespace: namespaceFor(ctx, r) });
  }
  for (const t of targets) {
    const ref = { apiVersion: apiVersionOf(t.r), kind: t.r.kind, namespace: t.namespace, name: t.name };
    const context = t.source ? `error when deleting "${t.source}": ` : '';
    const denied = authorize(ctx, 'delete', t.r, t.namespace, t.name);
    if (denied) {
      ctx.out.error(serverError(denied, context));
      continue;
    }
    const existing = ctx.cluster.store.get(ref);
    if (!existing) {
      if (!ignoreMissing) ctx.out.error(serverError({ reason: 'NotFound', message: `${qualifiedResource(t.r)} "${t.name}" not found` }, context));
      continue;
    }
    if (asArray(asObject(existing.metadata).finalizers).length) throw new KubectlUnsupported(`kubectl delete of ${kindName(t.r)}/${t.name}, which has finalizers (deletion in progress is not modelled offline)`);
    const outcome = await ctx.cluster.remove(existing, ctx.user);
    ctx.out.warn(outcome.warnings);
    if (outcome.error) ctx.out.error(serverError(outcome.error, context));
    else ctx.out.out.push(`${kindName(t.r)} "${t.name}" deleted`);
  }
}

/** An update of one stored object (label, annotate, patch): the outcome, printed as kubectl does. */
async function update(ctx: Context, r: Resource, name: string, change: (o: JsonObject) => JsonObject, done: string, unchanged: string): Promise<void> {
  const denied = authorize(ctx, 'patch', r, namespaceFor(ctx, r), name);
  if (denied) return void ctx.out.error(serverError(denied));
  const current = fetch(ctx, r, name);
  if (!current || !('kind' in current)) return void ctx.out.error(serverError(current as NonNullable<WriteOutcome['error']>));
  const next = change(current as JsonObject);
  if (JSON.stringify(next) === JSON.stringify(current)) {
    ctx.out.out.push(`${kindName(r)}/${name} ${unchanged}`);
    return;
  }
  const outcome = await ctx.cluster.write('update', next, ctx.user);
  ctx.out.warn(outcome.warnings);
  if (outcome.error) ctx.out.error(serverError(outcome.error));
  else ctx.out.out.push(`${kindName(r)}/${name} ${done}`);
}

async function labelOrAnnotate(ctx: Context, field: 'labels' | 'annotations'): Promise<void> {
  const words = ctx.args.positional.slice(1);
  // kubectl's ResourcesAndLabels: a word with `=` or a trailing `-` is a change, the others name objects.
  const changes = words.filter((w) => w.includes('=') || w.endsWith('-'));
  const objects = words.filter((w) => !changes.includes(w));
  if (boolFlag(ctx.args, 'all') || ctx.args.flags.has('selector')) throw new KubectlUnsupported(`kubectl ${words[0]} by selector`);
  const verb = field === 'labels' ? 'labeled' : 'annotated';
  for (const { r, name } of namedObjects(ctx, objects)) {
    await update(ctx, r, name, (o) => {
      let refused: string | undefined;
      const meta = asObject(o.metadata);
      const map: Record<string, unknown> = { ...asObject(meta[field]) };
      for (const c of changes) {
        if (c.endsWith('-') && !c.includes('=')) delete map[c.slice(0, -1)];
        else {
          const key = c.slice(0, c.indexOf('='));
          const value = c.slice(c.indexOf('=') + 1);
          if (key in map && map[key] !== value && !boolFlag(ctx.args, 'overwrite')) refused ??= `error: '${key}' already has a value (${String(map[key])}), and --overwrite is false`;
          map[key] = value;
        }
      }
      // kubectl checks before sending: nothing is printed for the object.
      if (refused) throw new KubectlFailure(refused);
      const nextMeta: JsonObject = { ...meta, [field]: map };
      if (!Object.keys(map).length) delete nextMeta[field];
      return { ...o, metadata: nextMeta };
    }, verb, `not ${verb}`);
  }
}

async function patch(ctx: Context): Promise<void> {
  const words = ctx.args.positional.slice(1);
  const type = flag(ctx.args, 'type') ?? 'strategic';
  let text = flag(ctx.args, 'patch');
  const file = flag(ctx.args, 'patch-file');
  if (file !== undefined) text = file === '/dev/stdin' || file === '-' ? (ctx.request.stdin ?? '') : readFileSync(resolve(ctx.request.cwd, file), 'utf8');
  if (text === undefined) throw new KubectlFailure('error: must specify --patch or --patch-file containing the contents of the patch');
  const parsed = parseYamlDocuments(text, 'patch');
  if (parsed.errors.length || parsed.documents.length !== 1) throw new KubectlFailure(`error: unable to parse "${text}": yaml: did not find expected node content`);
  const body = parsed.documents[0].value;
  for (const { r, name } of namedObjects(ctx, words)) {
    const crd = !['', 'apps', 'batch', 'rbac.authorization.k8s.io', 'networking.k8s.io', 'policy', 'autoscaling', 'storage.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'certificates.k8s.io', 'events.k8s.io', 'discovery.k8s.io', 'node.k8s.io'].includes(r.group);
    if (type === 'strategic' && crd) {
      throw new KubectlFailure(`Error from server (UnsupportedMediaType): the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    }
    await update(ctx, r, name, (o) => {
      try {
        if (type === 'json') return applyPatch(structuredClone(o), asArray(body) as unknown as PatchOperation[], true, false).newDocument as JsonObject;
        if (type === 'merge') return mergeObjects(o, body) as JsonObject;
        if (type === 'strategic') return strategicMerge(o, body, schemaForResource(o)) as JsonObject;
        throw new KubectlFailure(`error: --type must be one of [json merge strategic], not "${type}"`);
      } catch (e) {
        if (e instanceof KubectlFailure) throw e;
        throw new KubectlFailure(`Error from server (UnprocessableEntity): ${(e as Error).message}`);
      }
    }, 'patched', 'patched (no change)');
  }
}

async function scale(ctx: Context): Promise<void> {
  const replicas = flag(ctx.args, 'replicas');
  if (replicas === undefined || !/^\d+$/.test(replicas)) throw new KubectlFailure('error: required flag(s) "replicas" not set');
  if ([...ctx.args.flags.keys()].some((k) => !['replicas', 'namespace', 'as', 'as-group'].includes(k))) throw new KubectlUnsupported(`kubectl scale with ${[...ctx.args.flags.keys()].join(', ')}`);
  for (const { r, name } of namedObjects(ctx, ctx.args.positional.slice(1))) {
    const current = fetch(ctx, r, name);
    if (!current || !('kind' in current)) {
      ctx.out.error(serverError(current as NonNullable<WriteOutcome['error']>));
      continue;
    }
    const denied = authorize(ctx, 'patch', r, namespaceFor(ctx, r), name);
    if (denied) {
      ctx.out.error(serverError(denied));
      continue;
    }
    const outcome = await ctx.cluster.scale(current as JsonObject, Number(replicas), ctx.user);
    ctx.out.warn(outcome.warnings);
    if (outcome.error) ctx.out.error(serverError(outcome.error));
    else ctx.out.out.push(`${kindName(r)}/${name} scaled`);
  }
}

// ---- Pod subresources: exec, debug, evict; and wait ---------------------------------------

const POD: Resource = { group: '', version: 'v1', kind: 'Pod', plural: 'pods' };

/** The Pod a command names (`NAME`, `pod/NAME`) as its resource builder finds it; the API server's NotFound ends the command. */
function podNamed(ctx: Context, word: string, command: string): JsonObject {
  const slash = word.indexOf('/');
  if (slash >= 0) {
    const r = resolveResource(word.slice(0, slash), ctx.cluster.kindTable(), ctx.cluster.store);
    if (r.kind !== 'Pod' || r.group !== '') throw new KubectlUnsupported(`kubectl ${command} ${word} (a ${r.kind}'s Pods are made by its controller)`);
  }
  const name = slash >= 0 ? word.slice(slash + 1) : word;
  const denied = authorize(ctx, 'get', POD, ctx.namespace, name);
  if (denied) throw new KubectlFailure(serverError(denied));
  const found = fetch(ctx, POD, name);
  if (!found || !('kind' in found)) throw new KubectlFailure(serverError(found as NonNullable<WriteOutcome['error']>));
  return found as JsonObject;
}

/** The words before `--` and the command after it. */
function splitAtDash(words: string[]): { before: string[]; after: string[] | undefined } {
  const dash = words.indexOf('--');
  return dash < 0 ? { before: words, after: undefined } : { before: words.slice(0, dash), after: words.slice(dash + 1) };
}

/** kubectl's default container of a Pod (podcmd.FindOrDefaultContainerByName): the annotated one, else the first; named on stderr when there were several. */
function defaultContainer(ctx: Context, pod: JsonObject): string {
  const spec = asObject(pod.spec);
  const containers = asArray(spec.containers).map((c) => String(asObject(c).name));
  const annotated = asObject(asObject(pod.metadata).annotations)['kubectl.kubernetes.io/default-container'];
  if (typeof annotated === 'string' && containers.includes(annotated)) return annotated;
  if (!containers.length) throw new KubectlFailure(`error: pod ${String(asObject(pod.metadata).name)} does not have any containers`);
  const all = [...containers, ...asArray(spec.initContainers).map((c) => `${String(asObject(c).name)} (init)`), ...asArray(spec.ephemeralContainers).map((c) => `${String(asObject(c).name)} (ephem)`)];
  if (all.length > 1 && !boolFlag(ctx.args, 'quiet')) ctx.out.err.push(`Defaulted container "${containers[0]}" out of: ${all.join(', ')}`);
  return containers[0];
}

/**
 * `kubectl exec POD -- COMMAND`: the Pod read, its container chosen, then the request the API
 * server admits as a CONNECT of pods/exec with the PodExecOptions kubectl sends. Admitted, the
 * kubelet would run the command: offline it runs nowhere, the reply says so (`remoteCommand`)
 * and the runner decides whether the step needed its output.
 */
async function exec(ctx: Context): Promise<void> {
  const { before, after } = splitAtDash(ctx.args.positional.slice(1));
  const quiet = boolFlag(ctx.args, 'quiet');
  if (after === undefined && before.length > 1 && !quiet) ctx.out.err.push('kubectl exec [POD] [COMMAND] is DEPRECATED and will be removed in a future version. Use kubectl exec [POD] -- [COMMAND] instead.');
  const command = after ?? before.slice(1);
  if (!before.length) throw new KubectlFailure('error: pod, type/name or --filename must be specified');
  if (!command.length) throw new KubectlFailure('error: you must specify at least one command for the container');
  const pod = podNamed(ctx, before[0], 'exec');
  const phase = asObject(pod.status).phase;
  if (phase === 'Succeeded' || phase === 'Failed') throw new KubectlFailure(`error: cannot exec into a container in a completed pod; current phase is ${String(phase)}`);
  const container = flag(ctx.args, 'container') ?? defaultContainer(ctx, pod);
  const stdin = boolFlag(ctx.args, 'interactive');
  // A script's stdin is no terminal: kubectl gives the TTY up (SetupTTY) and sends tty=false.
  if (stdin && boolFlag(ctx.args, 'tty') && !quiet) ctx.out.err.push('Unable to use a TTY - input is not a terminal or the right kind of file');
  const name = String(asObject(pod.metadata).name);
  const denied = authorize(ctx, 'create', POD, ctx.namespace, name, 'exec');
  if (denied) throw new KubectlFailure(serverError(denied));
  const options: JsonObject = { kind: 'PodExecOptions', apiVersion: 'v1', ...(stdin ? { stdin: true } : {}), stdout: true, stderr: true, container, command };
  const outcome = await ctx.cluster.subresource(pod, 'exec', options, ctx.user);
  ctx.out.warn(outcome.warnings);
  if (outcome.error) throw new KubectlFailure(serverError(outcome.error));
  ctx.out.remoteCommand = `\`${command.join(' ')}\` in ${ctx.namespace}/${name}/${container}`;
}


/**
 * `kubectl debug POD --image=IMAGE`: an ephemeral container (the legacy profile, kubectl's
 * default) added to the Pod through pods/ephemeralcontainers, which the API server admits as an
 * UPDATE of the Pod. Attaching to it (`-i`) waits for the kubelet to start it: not offline.
 */
async function debug(ctx: Context): Promise<void> {
  const other = [...ctx.args.flags.keys()].filter((k) => !['image', 'container', 'interactive', 'tty', 'quiet', 'target', 'namespace', 'as', 'as-group'].includes(k));
  if (other.length) throw new KubectlUnsupported(`kubectl debug --${other.join(', --')}`);
  const { before: targets, after: args } = splitAtDash(ctx.args.positional.slice(1));
  const image = flag(ctx.args, 'image');
  const interactive = boolFlag(ctx.args, 'interactive');
  const tty = boolFlag(ctx.args, 'tty');
  const quiet = boolFlag(ctx.args, 'quiet');
  const target = flag(ctx.args, 'target');
  // DebugOptions.Validate, in its order.
  if (!image) throw new KubectlFailure('error: you must specify --image when not using --copy-to.');
  if (!targets.length) throw new KubectlFailure('error: NAME or filename is required for debug');
  if (target && !quiet) ctx.out.out.push(`Targeting container "${target}". If you don't see processes from this container it may be because the container runtime doesn't support this feature.`);
  if (tty && !interactive) throw new KubectlFailure('error: -i/--stdin is required for containers with -t/--tty=true');
  ctx.out.err.push('Legacy profile is planned to be deprecated in the near future. It is recommended to specify other profiles such as "--profile=general".');
  for (const word of targets) {
    if (/^(no|nodes?)\//i.test(word)) throw new KubectlUnsupported(`kubectl debug ${word} (a node debugging Pod runs in the node's host namespaces)`);
    const pod = podNamed(ctx, word, 'debug');
    const spec = asObject(pod.spec);
    const taken = new Set([...asArray(spec.containers), ...asArray(spec.initContainers), ...asArray(spec.ephemeralContainers)].map((c) => String(asObject(c).name)));
    let name = flag(ctx.args, 'container');
    if (!name) {
      // utilrand.String(5) in kubectl; here derived from the Pod and the names taken, so a run repeats.
      let attempt = 0;
      do name = `debugger-${nameSuffix(`${String(asObject(pod.metadata).uid)}/${taken.size}/${attempt++}`)}`;
      while (taken.has(name));
      if (!quiet) ctx.out.out.push(`Defaulting debug container name to ${name}.`);
    }
    // corev1.EphemeralContainer as kubectl marshals it (resources is not omitempty).
    const container: JsonObject = {
      name,
      image,
      ...(args?.length ? { command: args } : {}),
      resources: {},
      terminationMessagePolicy: 'File',
      ...(interactive ? { stdin: true } : {}),
      ...(tty ? { tty: true } : {}),
      ...(target ? { targetContainerName: target } : {}),
    };
    const podName = String(asObject(pod.metadata).name);
    const denied = authorize(ctx, 'patch', POD, ctx.namespace, podName, 'ephemeralcontainers');
    if (denied) throw new KubectlFailure(serverError(denied));
    const updated = { ...pod, spec: { ...spec, ephemeralContainers: [...asArray(spec.ephemeralContainers), container] } };
    const outcome = await ctx.cluster.subresource(pod, 'ephemeralcontainers', updated, ctx.user);
    ctx.out.warn(outcome.warnings);
    if (outcome.error) throw new KubectlFailure(serverError(outcome.error));
    if (interactive) throw new KubectlUnsupported('kubectl debug -i: attaching waits for the kubelet to start the debug container, which does not run offline');
  }
}

/**
 * `kubectl evict POD` (the kubectl-evict plugin Kyverno's CI installs for some areas): an
 * Eviction created through pods/eviction; its errors are printed by cobra (`Error: ...`).
 */
async function evict(ctx: Context): Promise<void> {
  if (!ctx.cluster.kubectlEvict) throw new KubectlFailure('error: unknown command "evict" for "kubectl"');
  const words = ctx.args.positional.slice(1);
  if (ctx.args.flags.has('selector')) throw new KubectlUnsupported('kubectl evict -l');
  if (words.length !== 1) throw new KubectlFailure("Error: expected 'evict (POD | TYPE/NAME)'.\nPOD or TYPE/NAME is a required argument for the evict command");
  let pod: JsonObject;
  try {
    pod = podNamed(ctx, words[0], 'evict');
  } catch (e) {
    if (e instanceof KubectlFailure) throw new KubectlFailure(`Error: ${e.message.replace(/^Error from server \([^)]*\): /, '')}`);
    throw e;
  }
  const meta = asObject(pod.metadata);
  const denied = authorize(ctx, 'create', POD, ctx.namespace, String(meta.name), 'eviction');
  if (denied) throw new KubectlFailure(`Error: ${denied.message}`);
  const eviction: JsonObject = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: meta.name, namespace: meta.namespace } };
  const outcome = await ctx.cluster.subresource(pod, 'eviction', eviction, ctx.user);
  ctx.out.warn(outcome.warnings);
  if (outcome.error) throw new KubectlFailure(`Error: ${outcome.error.message}`);
  ctx.out.out.push(`pod ${String(meta.namespace)}/${String(meta.name)} evicted`);
}

/**
 * `kubectl wait --for=condition=C|delete TYPE/NAME | TYPE -l SELECTOR`: what already holds is
 * answered (`condition met`); no time passes offline, so waiting for a change is not: the
 * conditions of Pods and most kinds are written by the kubelet or controllers.
 */
async function wait(ctx: Context): Promise<void> {
  const condition = flag(ctx.args, 'for');
  if (condition === undefined) throw new KubectlFailure('error: --for must be specified');
  const selector = flag(ctx.args, 'selector');
  const words = ctx.args.positional.slice(1);
  let targets: Array<{ r: Resource; name: string }>;
  if (selector !== undefined || boolFlag(ctx.args, 'all')) {
    const r = resolveResource(words[0] ?? '', ctx.cluster.kindTable(), ctx.cluster.store);
    const ns = namespaceFor(ctx, r);
    if (ns === ctx.cluster.kyvernoNamespace) throw new KubectlUnsupported(`kubectl wait for ${qualifiedResource(r)} -n ${ns}: Kyverno's own install is not offline`);
    targets = ctx.cluster.store.list(apiVersionOf(r), r.kind, ns, selector).map((o) => ({ r, name: String(asObject(o.metadata).name) }));
    if (!targets.length) throw new KubectlFailure(`error: no matching resources found`);
  } else targets = namedObjects(ctx, words);
  const wanted = /^condition=([^=]+)(?:=(.*))?$/i.exec(condition);
  for (const { r, name } of targets) {
    const o = fetch(ctx, r, name);
    const found = o && 'kind' in o ? (o as JsonObject) : undefined;
    if (condition === 'delete') {
      if (found) throw new KubectlUnsupported(`kubectl wait --for=delete of ${kindName(r)}/${name}, which is still there (no time passes offline)`);
      ctx.out.out.push(`${kindName(r)}/${name} condition met`);
      continue;
    }
    if (!found) throw new KubectlFailure(serverError(o as NonNullable<WriteOutcome['error']>));
    if (!wanted) throw new KubectlUnsupported(`kubectl wait --for=${condition}`);
    const met = asArray(asObject(found.status).conditions).map(asObject).some((c) => String(c.type).toLowerCase() === wanted[1].toLowerCase() && String(c.status).toLowerCase() === (wanted[2] ?? 'true').toLowerCase());
    if (!met) throw new KubectlUnsupported(`kubectl wait --for=${condition} ${kindName(r)}/${name}: its conditions are written by ${r.kind === 'Pod' ? 'the kubelet' : 'a controller'}, which does not run offline`);
    ctx.out.out.push(`${kindName(r)}/${name} condition met`);
  }
}

// ---- the API server behind `kubectl proxy` ----------------------------------------------

/** A Status as the API server answers an error (kubectl proxy passes it through). */
function statusBody(code: number, error: NonNullable<WriteOutcome['error']>): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: error.message, ...(error.reason ? { reason: error.reason } : {}), code });
}

/** The HTTP status of an API server's refusal (a webhook's denial without a code of its own is 400, as ToStatusErr makes it). */
const REFUSAL_CODES: Record<string, number> = { NotFound: 404, AlreadyExists: 409, Forbidden: 403, Invalid: 422 };

/**
 * A request `kubectl proxy` forwards to the API server as chainsaw's kubeconfig user: a GET of
 * the root or of an object or list, a PATCH of an object's status subresource (JSON or merge
 * patch), a POST of a Pod's eviction. The writes go through admission; anything else is not
 * modelled and makes the step unsupported.
 */
export async function proxied(cluster: KubectlCluster, request: { method: string; path: string; contentType?: string; body?: string }): Promise<{ status: number; body: string }> {
  const { method, path } = request;
  const store = cluster.store;
  const refusal = (error: NonNullable<WriteOutcome['error']>) => ({ status: REFUSAL_CODES[error.reason ?? ''] ?? 400, body: statusBody(REFUSAL_CODES[error.reason ?? ''] ?? 400, error) });
  if (method === 'GET' && (path === '/' || path === '')) return { status: 200, body: JSON.stringify({ paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'] }, null, 2) };
  if (method === 'GET' && /^\/apis?\//.test(path)) {
    const answer = apiServerAnswer(path, store.all());
    return answer.found ? { status: 200, body: JSON.stringify(answer.body) } : refusal({ reason: 'NotFound', message: answer.reason });
  }
  const parsed = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/([^/]+)\/([^/]+)\/(status|eviction)$/.exec(path);
  if (!parsed) throw new KubectlUnsupported(`${method} ${path} through kubectl proxy`);
  const [, namespace, plural, name, subresource] = parsed;
  const r = resolveResource(plural, cluster.kindTable(), store);
  const current = store.get({ apiVersion: apiVersionOf(r), kind: r.kind, namespace, name });
  if (!current) return refusal({ reason: 'NotFound', message: `${qualifiedResource(r)} "${name}" not found` });
  const json = (): unknown => {
    try {
      return JSON.parse(request.body ?? '');
    } catch {
      return undefined;
    }
  };
  if (subresource === 'eviction' && method === 'POST' && r.kind === 'Pod') {
    if (request.contentType !== 'application/json') throw new KubectlUnsupported(`POST ${path} as ${request.contentType ?? 'no content type'} through kubectl proxy`);
    const eviction = json();
    if (!isJsonObject(eviction)) return refusal({ message: 'the body of the request was not an Eviction' });
    const outcome = await cluster.subresource({ ...current, apiVersion: 'v1' }, 'eviction', eviction, cluster.admin);
    if (outcome.error) return refusal(outcome.error);
    return { status: 201, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }) };
  }
  if (subresource === 'status' && method === 'PATCH') {
    const body = json();
    let updated: JsonObject;
    try {
      if (request.contentType === 'application/json-patch+json') updated = applyPatch(structuredClone(current), asArray(body) as unknown as PatchOperation[], true, false).newDocument as JsonObject;
      else if (request.contentType === 'application/merge-patch+json') updated = mergeObjects(current, body) as JsonObject;
      else throw new KubectlUnsupported(`PATCH ${path} as ${request.contentType ?? 'no content type'} through kubectl proxy`);
    } catch (e) {
      if (e instanceof KubectlUnsupported) throw e;
      return { status: 422, body: statusBody(422, { reason: 'Invalid', message: (e as Error).message }) };
    }
    const outcome = await cluster.status(current, updated, cluster.admin);
    if (outcome.error) return refusal(outcome.error);
    return { status: 200, body: JSON.stringify(outcome.object) };
  }
  throw new KubectlUnsupported(`${method} ${path} through kubectl proxy`);
}

/** The identity of `--as` (and `--as-group`), as the API server's impersonation gives it. */
function impersonated(ctx: Omit<Context, 'user' | 'namespace' | 'out'>): KubectlUser {
  const as = flag(ctx.args, 'as');
  if (as === undefined) {
    if (ctx.args.flags.has('as-group')) throw new KubectlFailure('error: requesting uid, groups or user-extra for test without impersonating a user');
    return ctx.cluster.admin;
  }
  const account = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(as);
  const groups = ctx.args.flags.get('as-group') ?? (account ? ['system:serviceaccounts', `system:serviceaccounts:${account[1]}`] : []);
  return { username: as, groups: [...groups, 'system:authenticated'] };
}

const COMMANDS = new Set(['apply', 'create', 'delete', 'get', 'label', 'annotate', 'patch', 'scale', 'run', 'exec', 'debug', 'evict', 'wait']);

/** Flags only some commands take (`--user` elsewhere is the kubeconfig's user, not offline). */
const COMMAND_FLAGS: Record<string, string[]> = {
  container: ['exec', 'debug'], interactive: ['exec', 'debug'], tty: ['exec', 'debug'], quiet: ['exec', 'debug'], target: ['debug'],
  'grace-period': ['delete'], timeout: ['delete', 'wait'], for: ['wait'], 'field-manager': [],
  role: ['create'], clusterrole: ['create'], user: ['create'], group: ['create'], serviceaccount: ['create'],
};

/** Runs one kubectl command line against the cluster. */
export async function kubectl(cluster: KubectlCluster, request: KubectlRequest): Promise<KubectlReply> {
  const out = new Output();
  try {
    const args = parseArgs(request.argv);
    const command = args.positional[0];
    if (command === undefined) throw new KubectlUnsupported('kubectl without a command');
    if (!COMMANDS.has(command)) throw new KubectlUnsupported(`kubectl ${command}`);
    if (args.flags.has('context')) throw new KubectlUnsupported('kubectl --context (kubeconfig contexts other than chainsaw\'s)');
    const kubeconfig = flag(args, 'kubeconfig') ?? request.kubeconfig;
    if (kubeconfig !== undefined && request.stepKubeconfig !== undefined && resolve(request.cwd, kubeconfig) !== request.stepKubeconfig) throw new KubectlUnsupported(`kubectl with the kubeconfig ${kubeconfig} (not chainsaw's)`);
    for (const [name, commands] of Object.entries(COMMAND_FLAGS)) {
      if (args.flags.has(name) && !commands.includes(command)) throw new KubectlUnsupported(`kubectl ${command} --${name}`);
    }
    const base = { cluster, request, args };
    const ctx: Context = { ...base, user: impersonated(base), namespace: flag(args, 'namespace') ?? 'default', out };
    switch (command) {
      case 'apply':
        await applyOrCreate(ctx, 'apply');
        break;
      case 'create':
        if (args.flags.has('filename')) await applyOrCreate(ctx, 'create');
        else await createGenerated(ctx, generated(ctx));
        break;
      case 'run':
        await createGenerated(ctx, runPod(ctx));
        break;
      case 'get':
        await get(ctx);
        break;
      case 'delete':
        await remove(ctx);
        break;
      case 'label':
        await labelOrAnnotate(ctx, 'labels');
        break;
      case 'annotate':
        await labelOrAnnotate(ctx, 'annotations');
        break;
      case 'patch':
        await patch(ctx);
        break;
      case 'scale':
        await scale(ctx);
        break;
      case 'exec':
        await exec(ctx);
        break;
      case 'debug':
        await debug(ctx);
        break;
      case 'evict':
        await evict(ctx);
        break;
      case 'wait':
        await wait(ctx);
        break;
    }
  } catch (e) {
    if (e instanceof KubectlFailure) out.error(e.message);
    else throw e;
  }
  return out.reply();
}
