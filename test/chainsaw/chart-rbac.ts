/**
 * Kyverno's install as its Helm chart creates it for a chainsaw area: the service accounts of
 * its four controllers and their ClusterRoles, ClusterRoleBindings, Roles and RoleBindings,
 * rendered from the chart's own templates (`charts/kyverno/templates/<controller>/
 * {serviceaccount,clusterrole,clusterrolebinding,role,rolebinding}.yaml`) with the area's
 * merged values, for the release `kyverno` in namespace `kyverno` (the Makefile's
 * `kind-install-kyverno`). What the controllers may do then follows from the chart (each
 * aggregated ClusterRole collects its `:core` role, the roles labelled
 * `rbac.kyverno.io/aggregate-to-<controller>` and those carrying the controller's match labels,
 * and a `:view` binding to the cluster's `view` role), not from a list kept here.
 *
 * Those templates use a small part of Go's text/template and Sprig, which this module renders:
 * `if`/`with`/`range`/`else`/`end` with `{{-`/`-}}` trimming, `.Values…` and `$`, `not`,
 * `default`, `toYaml`, `nindent`, and the chart's named templates (`template`/`include`) for
 * names and labels, which are written out here as the chart's `_helpers` define them. Any other
 * construct throws: a chart that outgrows this renderer is an error, never a silent guess.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { isJsonObject } from '../../engine/core/json';
import type { JsonObject } from '../../engine/core/types';

/** The release Kyverno's CI installs (Makefile: `helm upgrade --install kyverno --namespace kyverno`). */
export const RELEASE = { name: 'kyverno', namespace: 'kyverno' };
/** The chart's name (Chart.yaml). */
const CHART_NAME = 'kyverno';

/** The chart's controllers: template folder and values key. */
export const CONTROLLERS = [
  { folder: 'admission-controller', key: 'admissionController' },
  { folder: 'background-controller', key: 'backgroundController' },
  { folder: 'cleanup-controller', key: 'cleanupController' },
  { folder: 'reports-controller', key: 'reportsController' },
] as const;
export type ControllerName = (typeof CONTROLLERS)[number]['folder'];

const RBAC_TEMPLATES = ['serviceaccount.yaml', 'clusterrole.yaml', 'clusterrolebinding.yaml', 'role.yaml', 'rolebinding.yaml'];

type Value = unknown;

function lookup(values: JsonObject, path: string): Value {
  let cur: Value = values;
  for (const p of path.split('.').filter(Boolean)) cur = isJsonObject(cur) ? cur[p] : undefined;
  return cur;
}

/** Go template truth: false, 0, nil, and empty strings, lists and maps are false. */
function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isJsonObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** The chart's `_helpers` names for the release (no nameOverride/fullnameOverride unless the values set them). */
function chartNames(values: JsonObject) {
  const trim = (s: string) => s.slice(0, 63).replace(/-+$/, '');
  const name = trim(String(lookup(values, 'nameOverride') ?? '') || CHART_NAME);
  const fullnameOverride = String(lookup(values, 'fullnameOverride') ?? '');
  const fullname = fullnameOverride ? trim(fullnameOverride) : trim(RELEASE.name.includes(name) ? RELEASE.name : `${RELEASE.name}-${name}`);
  const namespace = String(lookup(values, 'namespaceOverride') ?? '') || RELEASE.namespace;
  return { name, fullname, namespace };
}

/** The service account a controller runs as (`kyverno.<controller>.serviceAccountName`). */
export function controllerServiceAccount(values: JsonObject, controller: ControllerName): { namespace: string; name: string; username: string } {
  const { name, namespace } = chartNames(values);
  const key = CONTROLLERS.find((c) => c.folder === controller)!.key;
  const account = String(lookup(values, `${key}.rbac.serviceAccount.name`) ?? '') || `${name}-${controller}`;
  return { namespace, name: account, username: `system:serviceaccount:${namespace}:${account}` };
}

/** The chart's named templates this renderer knows (`template "x" .` / `include "x" .`). */
function namedTemplate(id: string, values: JsonObject): string {
  const { name, fullname, namespace } = chartNames(values);
  if (id === 'kyverno.namespace') return namespace;
  if (id === 'kyverno.name') return name;
  if (id === 'kyverno.fullname') return fullname;
  if (id === 'kyverno.config.configMapName') return String(lookup(values, 'config.name') ?? '') || fullname;
  if (id === 'kyverno.config.metricsConfigMapName') return String(lookup(values, 'metricsConfig.name') ?? '') || `${fullname}-metrics`;
  const m = /^kyverno\.([\w-]+-controller)\.(name|roleName|serviceAccountName|labels|matchLabels)$/.exec(id);
  const controller = m && CONTROLLERS.find((c) => c.folder === m[1]);
  if (!m || !controller) throw new Error(`the chart's template "${id}" is not modelled`);
  const matchLabels = { 'app.kubernetes.io/component': controller.folder, 'app.kubernetes.io/instance': RELEASE.name, 'app.kubernetes.io/part-of': fullname };
  switch (m[2]) {
    case 'name':
      return `${name}-${controller.folder}`;
    case 'roleName':
      return `${fullname}:${controller.folder}`;
    case 'serviceAccountName':
      return controllerServiceAccount(values, controller.folder).name;
    case 'matchLabels':
      return toYaml(matchLabels);
    default: {
      // kyverno.labels.merge of the name label, the common labels (the chart's helm and
      // version labels left out: nothing selects on them) with customLabels, and the match labels.
      const custom = lookup(values, 'customLabels');
      return toYaml({ 'app.kubernetes.io/name': `${name}-${controller.folder}`, ...(isJsonObject(custom) ? custom : {}), ...matchLabels });
    }
  }
}

function toYaml(v: Value): string {
  if (v === undefined || v === null) return 'null';
  return stringify(v, { lineWidth: 0 }).replace(/\n$/, '');
}

type Node =
  | { t: 'text'; text: string }
  | { t: 'expr'; expr: string }
  | { t: 'block'; kind: 'if' | 'with' | 'range'; expr: string; body: Node[]; otherwise: Node[] };

/** Text and actions, with `{{-` / `-}}` trimming the whitespace beside them. */
function tokenize(source: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    let text = source.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    out.push({ text });
    if (!m[2].startsWith('/*')) out.push({ action: m[2] });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  out.push({ text: trimNext ? source.slice(last).replace(/^\s+/, '') : source.slice(last) });
  return out;
}

function parse(source: string, file: string): Node[] {
  const root: Node[] = [];
  const stack: Array<{ nodes: Node[]; block?: Extract<Node, { t: 'block' }> }> = [{ nodes: root }];
  for (const token of tokenize(source)) {
    const top = stack[stack.length - 1];
    if ('text' in token) {
      if (token.text) top.nodes.push({ t: 'text', text: token.text });
      continue;
    }
    const action = token.action;
    const open = /^(if|with|range)\s+([\s\S]+)$/.exec(action);
    if (open) {
      const block: Extract<Node, { t: 'block' }> = { t: 'block', kind: open[1] as 'if' | 'with' | 'range', expr: open[2], body: [], otherwise: [] };
      top.nodes.push(block);
      stack.push({ nodes: block.body, block });
    } else if (action === 'else') {
      if (!top.block) throw new Error(`${file}: {{ else }} outside a block`);
      top.nodes = top.block.otherwise;
    } else if (action === 'end') {
      if (stack.length === 1) throw new Error(`${file}: {{ end }} without a block`);
      stack.pop();
    } else {
      top.nodes.push({ t: 'expr', expr: action });
    }
  }
  if (stack.length !== 1) throw new Error(`${file}: a block is not closed`);
  return root;
}

interface Scope {
  dot: Value;
  root: JsonObject;
}

/** Words of a command: quoted strings kept whole. */
function words(command: string): string[] {
  return command.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

function operand(word: string, scope: Scope): Value {
  if (word.startsWith('"')) return JSON.parse(word) as string;
  if (/^-?\d+$/.test(word)) return Number(word);
  if (word === '.') return scope.dot;
  if (word === '$') return scope.root;
  if (word.startsWith('$.')) return lookup(scope.root, word.slice(2));
  if (word.startsWith('.')) return isJsonObject(scope.dot) ? lookup(scope.dot, word.slice(1)) : undefined;
  throw new Error(`the operand ${word} is not modelled`);
}

function indent(text: string, n: number): string {
  return text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}

/** One pipeline: `a | f x | g`, each stage given the previous value as its last argument. */
function evaluate(expr: string, scope: Scope, values: JsonObject): Value {
  let value: Value;
  let first = true;
  for (const stage of expr.split('|').map((s) => s.trim())) {
    const [fn, ...rest] = words(stage);
    const args = rest.map((w) => operand(w, scope));
    if (!first) args.push(value);
    first = false;
    switch (fn) {
      case 'template':
      case 'include':
        value = namedTemplate(JSON.parse(rest[0]) as string, values);
        break;
      case 'toYaml':
        value = toYaml(args[0]);
        break;
      case 'nindent':
        value = `\n${indent(String(args[1]), Number(args[0]))}`;
        break;
      case 'not':
        value = !truthy(args[0]);
        break;
      case 'default':
        value = truthy(args[1]) ? args[1] : args[0];
        break;
      default:
        if (rest.length || !fn) throw new Error(`the function ${fn} is not modelled`);
        value = operand(fn, scope);
    }
  }
  return value;
}

function render(nodes: Node[], scope: Scope, values: JsonObject): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.text;
    else if (n.t === 'expr') {
      const v = evaluate(n.expr, scope, values);
      out += v === undefined || v === null ? '' : String(v);
    } else {
      const v = evaluate(n.expr, scope, values);
      if (!truthy(v)) out += render(n.otherwise, scope, values);
      else if (n.kind === 'if') out += render(n.body, scope, values);
      else if (n.kind === 'with') out += render(n.body, { ...scope, dot: v }, values);
      else for (const item of Array.isArray(v) ? v : Object.values(v as JsonObject)) out += render(n.body, { ...scope, dot: item }, values);
    }
  }
  return out;
}

/** One template file rendered with `values` (the merged helm values): its objects. */
export function renderChartTemplate(source: string, values: JsonObject, file = 'template'): JsonObject[] {
  const root: JsonObject = { Values: values, Release: { Name: RELEASE.name, Namespace: RELEASE.namespace }, Chart: { Name: CHART_NAME } };
  const text = render(parse(source, file), { dot: root, root }, values);
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: the rendered YAML does not parse: ${d.errors[0].message}`);
      return d.toJSON() as unknown;
    })
    .filter(isJsonObject);
}

/** Kyverno's service accounts and RBAC objects as the chart at `chartDir` installs them with `values`. */
export function kyvernoRbacObjects(chartDir: string, values: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  for (const c of CONTROLLERS) {
    for (const name of RBAC_TEMPLATES) {
      const file = join(chartDir, 'templates', c.folder, name);
      if (existsSync(file)) out.push(...renderChartTemplate(readFileSync(file, 'utf8'), values, file));
    }
  }
  return out;
}

/**
 * Without Kyverno's chart (a corpus copied on its own) its install's RBAC is unknown: its
 * controllers' service accounts are bound to a role that allows everything, so no permission
 * check refuses what the chart might have allowed.
 */
export function unrestrictedKyvernoRbac(values: JsonObject): JsonObject[] {
  const rbac = 'rbac.authorization.k8s.io';
  const accounts = CONTROLLERS.map((c) => controllerServiceAccount(values, c.folder));
  return [
    ...accounts.map((a) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: a.name, namespace: a.namespace } })),
    { apiVersion: `${rbac}/v1`, kind: 'ClusterRole', metadata: { name: `${RELEASE.name}:unrestricted` }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] },
    {
      apiVersion: `${rbac}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: `${RELEASE.name}:unrestricted` },
      roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: `${RELEASE.name}:unrestricted` },
      subjects: accounts.map((a) => ({ kind: 'ServiceAccount', name: a.name, namespace: a.namespace })),
    },
  ];
}
