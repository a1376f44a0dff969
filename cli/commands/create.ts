/**
 * `kyverno-studio create test|exception|values|user-info|metrics-config|cluster-role|pack`:
 * Kyverno's `kyverno create` scaffolds, with its flags and the text its templates
 * (commands/create/templates) render, written to standard output or to `-o PATH`.
 */
import { writeFileSync } from 'node:fs';
import { goJsonIndent } from './jp';
import { parseCommandArgs, single, type FlagSpec, type ParsedArgs } from '../../io/args';
import type { Command, CommandIO } from './command';
import { errorText, runSubcommand } from './command';
import { PACK_FLAGS, PACK_SUMMARY, runCreatePack } from './create-pack';

interface Scaffold {
  summary: string;
  usage: string;
  flags: FlagSpec;
  /** Positional arguments Kyverno requires (cobra.ExactArgs / NoArgs). */
  args: number;
  /** The rendered text, or an error message (exit 1). */
  render(args: ParsedArgs): string | { error: string };
}

const all = (args: ParsedArgs, name: string) => args.values.get(name) ?? [];
const list = (items: string[], indent: string) => items.map((i) => `\n${indent}- ${i}`).join('');
/** Go's text/template ranges over a map in sorted key order. */
const sortedEntries = (map: Record<string, string>) => Object.keys(map).sort().map((k) => [k, map[k]] as const);

/** `key=value` as Kyverno's parseKeyValue: exactly one `=`, else nothing. */
function keyValue(text: string): [string, string] | null {
  const parts = text.split('=');
  return parts.length === 2 && parts[0] !== '' && parts[1] !== '' ? [parts[0], parts[1]] : null;
}

function valuesOf(terms: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of terms) {
    const kv = keyValue(t);
    if (kv) out[kv[0]] = kv[1];
  }
  return out;
}

const OUTPUT_FLAG = '  -o, --output PATH            write to PATH instead of standard output';

const test: Scaffold = {
  summary: 'Create a Kyverno test file',
  usage: `Usage: kyverno-studio create test [flags]

Prints a test file skeleton (Kyverno's template, in its legacy layout without apiVersion and
kind: add "apiVersion: cli.kyverno.io/v1alpha1" and "kind: Test" before running it).

Flags:
${OUTPUT_FLAG}
  -n, --name NAME              test name (default "test-name")
  -p, --policy PATH            policy files (repeatable, comma-separated)
  -r, --resource PATH          resource files (repeatable, comma-separated)
  -f, --values PATH            values file
      --pass RESULT            expected pass result "policy,rule,resource,namespace,kind[,patchedResource]" (repeatable)
      --fail RESULT            expected fail result (same form)
      --skip RESULT            expected skip result (same form)
  -h, --help                   show this help`,
  flags: { values: ['policy', 'resource'], scalars: ['output', 'name', 'values', 'pass', 'fail', 'skip'], booleans: ['help'], aliases: { o: 'output', n: 'name', p: 'policy', r: 'resource', f: 'values', h: 'help' } },
  args: 0,
  render(args) {
    const results: string[] = [];
    for (const status of ['pass', 'fail', 'skip']) {
      for (const term of all(args, status)) {
        const p = term.split(',');
        // Five or six parts (the sixth, a patched resource, is not in Kyverno's template).
        if (p.length !== 5 && p.length !== 6) continue;
        results.push(`\n  - policy: ${p[0]}\n    rule: ${p[1]}\n    resource: ${p[2]}\n    namespace: ${p[3]}\n    kind: ${p[4]}\n    result: ${status}`);
      }
    }
    return [
      `# test name\nname: ${single(args, 'name') ?? 'test-name'}`,
      `# list of policy files\npolicies:${list(all(args, 'policy'), '  ')}`,
      `# list of resource files\nresources:${list(all(args, 'resource'), '  ')}`,
      `# variables file (optional)\nvariables: ${single(args, 'values') ?? ''}`,
      `# list of expected results\nresults:${results.join('')}\n`,
    ].join('\n');
  },
};

/** A resource filter `kind=Pod,name=x,namespace=y,operation=CREATE`; any other shape is dropped. */
function resourceFilter(text: string): string | null {
  const fields: Record<string, string[]> = { kind: [], name: [], namespace: [], operation: [] };
  for (const part of text.split(',')) {
    const kv = part.split('=');
    if (kv.length !== 2) return null;
    fields[kv[0]]?.push(kv[1]);
  }
  let out = '';
  if (fields.kind.length > 0) out += `\n    - kinds:${list(fields.kind, '        ')}`;
  if (fields.name.length > 0) out += `\n      names:${list(fields.name, '        ')}`;
  if (fields.namespace.length > 0) out += `\n      namespaces:${list(fields.namespace, '        ')}`;
  if (fields.operation.length > 0) out += `\n      operations:${list(fields.operation, '        ')}`;
  return out;
}

const exception: Scaffold = {
  summary: 'Create a Kyverno PolicyException',
  usage: `Usage: kyverno-studio create exception NAME --policy-rules POLICY,RULE... [flags]

Prints a kyverno.io/v2 PolicyException.

Flags:
${OUTPUT_FLAG}
      --namespace NS           namespace of the exception (default "default")
  -b, --background             consider the exception in background scans (default true; --background=false)
      --policy-rules P,R...    policy name followed by rule names (required, repeatable)
      --any FILTER             resource filter "kind=Pod,name=x,namespace=y,operation=CREATE" under match.any (repeatable)
      --all FILTER             resource filter under match.all (repeatable)
  -h, --help                   show this help`,
  flags: { values: [], scalars: ['output', 'namespace', 'policy-rules', 'any', 'all'], booleans: ['help', 'background'], aliases: { o: 'output', b: 'background', h: 'help' } },
  args: 1,
  render(args) {
    const rules = all(args, 'policy-rules');
    if (rules.length === 0) return { error: 'required flag(s) "policy-rules" not set' };
    const filters = (name: string) => all(args, name).map(resourceFilter).filter((f): f is string => f !== null);
    const any = filters('any');
    const every = filters('all');
    let match = '';
    if (any.length > 0) match += `\n    any:${any.join('')}`;
    if (every.length > 0) match += `\n    all:${every.join('')}`;
    const exceptions = rules
      .map((r) => r.split(','))
      .filter((p) => p.length >= 2)
      .map((p) => `\n    - policyName: ${p[0]}\n      ruleNames:${list(p.slice(1), '        ')}`)
      .join('');
    return [
      'apiVersion: kyverno.io/v2',
      'kind: PolicyException',
      'metadata:',
      `  name: ${args.positionals[0]}`,
      `  namespace: ${single(args, 'namespace') || 'default'}`,
      'spec:',
      `  background: ${!args.negated.has('background')}`,
      `  match:${match}${exceptions ? `\n  exceptions:${exceptions}` : ''}\n`,
    ].join('\n');
  },
};

const values: Scaffold = {
  summary: 'Create a Kyverno values file',
  usage: `Usage: kyverno-studio create values [flags]

Prints a values file (policies, global values, namespace selectors).

Flags:
${OUTPUT_FLAG}
  -n, --ns-selector NS,K=V...  namespace name followed by labels (repeatable)
  -g, --global K=V             global value (repeatable, comma-separated)
      --rule P,R,K=V...        policy, rule and values (repeatable)
      --resource P,R,K=V...    policy, resource and values (repeatable)
  -h, --help                   show this help`,
  flags: { values: ['global'], scalars: ['output', 'ns-selector', 'rule', 'resource'], booleans: ['help'], aliases: { o: 'output', n: 'ns-selector', g: 'global', h: 'help' } },
  args: 0,
  render(args) {
    const entries = (terms: string[], indent: string) => sortedEntries(valuesOf(terms)).map(([k, v]) => `\n${indent}${k}: ${v}`).join('');
    const policies: string[] = [];
    for (const [flag, key] of [['rule', 'rules'], ['resource', 'resources']] as const) {
      for (const term of all(args, flag)) {
        const p = term.split(',');
        if (p.length < 2) continue;
        policies.push(`\n  - name: ${p[0]}\n    ${key}:\n      - name: ${p[1]}\n        values:${entries(p.slice(2), '          ')}`);
      }
    }
    const selectors = all(args, 'ns-selector')
      .map((t) => t.split(','))
      .filter((p) => p.length >= 2)
      .map((p) => `\n  - name: ${p[0]}\n    labels:${entries(p.slice(1), '      ')}`);
    return [
      `# list of policy values\npolicies:${policies.join('')}`,
      `# list of global values\nglobalValues:${entries(all(args, 'global'), '  ')}`,
      `# list of namespace selectors\nnamespaceSelector:${selectors.join('')}\n`,
    ].join('\n');
  },
};

const userInfo: Scaffold = {
  summary: 'Create a Kyverno user info file',
  usage: `Usage: kyverno-studio create user-info [flags]

Prints a user info file (roles, cluster roles, user name and groups).

Flags:
${OUTPUT_FLAG}
  -u, --username NAME          user name
  -r, --role ROLE              role (repeatable, comma-separated)
  -c, --cluster-role ROLE      cluster role (repeatable, comma-separated)
  -g, --group GROUP            group (repeatable, comma-separated)
  -h, --help                   show this help`,
  flags: { values: ['role', 'cluster-role', 'group'], scalars: ['output', 'username'], booleans: ['help'], aliases: { o: 'output', u: 'username', r: 'role', c: 'cluster-role', g: 'group', h: 'help' } },
  args: 0,
  render(args) {
    return [
      `# list of roles\nroles:${list(all(args, 'role'), '  ')}`,
      `# list of cluster roles\nclusterRoles:${list(all(args, 'cluster-role'), '  ')}`,
      'userInfo:',
      '  # user name',
      `  username: ${single(args, 'username') ?? ''}`,
      '  # list of groups',
      `  groups:${list(all(args, 'group'), '    ')}\n`,
    ].join('\n');
  },
};

const metricsConfig: Scaffold = {
  summary: 'Create a Kyverno metrics ConfigMap',
  usage: `Usage: kyverno-studio create metrics-config [flags]

Prints the ConfigMap that selects the namespaces Kyverno reports metrics for.

Flags:
${OUTPUT_FLAG}
  -n, --name NAME              name (default "kyverno-metrics")
      --namespace NS           namespace (default "kyverno")
  -i, --include NS             included namespaces (repeatable, comma-separated)
  -e, --exclude NS             excluded namespaces (repeatable, comma-separated)
  -h, --help                   show this help`,
  flags: { values: ['include', 'exclude'], scalars: ['output', 'name', 'namespace'], booleans: ['help'], aliases: { o: 'output', n: 'name', i: 'include', e: 'exclude', h: 'help' } },
  args: 0,
  render(args) {
    // Go's omitempty drops empty lists; sprig's toPrettyJson indents by two, nindent by four.
    const namespaces: Record<string, string[]> = {};
    if (all(args, 'include').length > 0) namespaces.include = all(args, 'include');
    if (all(args, 'exclude').length > 0) namespaces.exclude = all(args, 'exclude');
    const json = goJsonIndent(namespaces).split('\n').map((l) => `    ${l}`).join('\n');
    return [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      `  name: ${single(args, 'name') ?? 'kyverno-metrics'}`,
      `  namespace: ${single(args, 'namespace') ?? 'kyverno'}`,
      'data:',
      '  namespaces: |',
      `${json}\n`,
    ].join('\n');
  },
};

const VERBS_ALL = ['create', 'get', 'update', 'delete', 'list', 'watch'];

const clusterRole: Scaffold = {
  summary: 'Create an aggregated ClusterRole for Kyverno controllers',
  usage: `Usage: kyverno-studio create cluster-role NAME --api-groups GROUP --resources R --verbs V [flags]

Prints a ClusterRole aggregated to Kyverno's controllers for the given resource types.

Flags:
${OUTPUT_FLAG}
  -g, --api-groups GROUP       API group of the resources (required)
      --resources R            resources, one value per flag (required, repeatable)
      --verbs V                verbs, one value per flag, or "all" (required, repeatable)
      --controllers NAME       controllers to aggregate to (default background-controller; repeatable)
  -h, --help                   show this help`,
  flags: { values: [], scalars: ['output', 'api-groups', 'resources', 'verbs', 'controllers'], booleans: ['help'], aliases: { o: 'output', g: 'api-groups', h: 'help' } },
  args: 1,
  render(args) {
    const group = single(args, 'api-groups') ?? '';
    const resources = all(args, 'resources');
    let verbs = all(args, 'verbs');
    const controllers = args.values.has('controllers') ? all(args, 'controllers') : ['background-controller'];
    if (args.positionals[0] === '') return { error: 'name argument is required' };
    if (group === '') return { error: 'required flag(s) "api-groups" not set' };
    if (resources.length === 0) return { error: 'required flag(s) "resources" not set' };
    if (verbs.length === 0) return { error: 'required flag(s) "verbs" not set' };
    if (controllers.length === 0 || (controllers.length === 1 && controllers[0] === '')) return { error: 'invalid controller provided' };
    if (verbs[0] === 'all') verbs = VERBS_ALL;
    return [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      'metadata:',
      `  name: kyverno-${args.positionals[0]}-permission`,
      `  labels:${controllers.map((c) => `\n      rbac.kyverno.io/aggregate-to-${c}: "true"`).join('')}`,
      'rules:',
      `  - apiGroups: ["${group}"]`,
      `    resources: ["${resources.join(',')}"]`,
      `    verbs: [${verbs.map((v) => `"${v}"`).join(', ')}]`,
    ].join('\n');
  },
};

export const CREATE_SCAFFOLDS: Record<string, Scaffold> = {
  exception,
  'metrics-config': metricsConfig,
  test,
  'user-info': userInfo,
  values,
  'cluster-role': clusterRole,
};

const USAGE = `Usage: kyverno-studio create <kind> [flags]

Prints scaffolds of Kyverno files (as kyverno create).

Kinds:
${Object.entries(CREATE_SCAFFOLDS).map(([n, s]) => `  ${n.padEnd(16)}${s.summary}`).join('\n')}
  ${'pack'.padEnd(16)}${PACK_SUMMARY}

Run \`kyverno-studio create <kind> --help\` for its flags.`;

function runScaffold(name: string, scaffold: Scaffold, argv: string[], io: CommandIO): number {
  const args = parseCommandArgs(argv, scaffold.flags, scaffold.usage, io);
  if (typeof args === 'number') return args;
  if (args.positionals.length !== scaffold.args) {
    io.err(`Error: ${scaffold.args === 0 ? `unknown command "${args.positionals[0]}" for "kyverno-studio create ${name}"` : `accepts ${scaffold.args} arg(s), received ${args.positionals.length}`}\n${scaffold.usage}`);
    return 1;
  }
  const text = scaffold.render(args);
  if (typeof text !== 'string') {
    io.err(`Error: ${text.error}`);
    return 1;
  }
  const path = single(args, 'output');
  if (path) {
    try {
      writeFileSync(path, text);
    } catch (err) {
      io.err(`Error: ${errorText(err)}`);
      return 1;
    }
  } else io.out(text.endsWith('\n') ? text.slice(0, -1) : text);
  return 0;
}

export const createCommand: Command = {
  name: 'create',
  summary: 'Scaffold tests, exceptions, values, user info... (like `kyverno create`)',
  usage: USAGE,
  subcommands: { ...Object.fromEntries(Object.entries(CREATE_SCAFFOLDS).map(([n, s]) => [n, s.flags])), pack: PACK_FLAGS },
  run(argv: string[], io: CommandIO): number {
    return runSubcommand('create', USAGE, (kind) => {
      if (kind === 'pack') return runCreatePack;
      const scaffold = Object.hasOwn(CREATE_SCAFFOLDS, kind) ? CREATE_SCAFFOLDS[kind] : undefined;
      return scaffold && ((rest, sio) => runScaffold(kind, scaffold, rest, sio));
    }, argv, io);
  },
};
