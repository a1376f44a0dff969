// The webhook's RBAC before and after policies, as `deploy` derives it (deploy/rbac.ts
// webhookRbac, the function the live deploy and `--render` call), for the bundled example
// policies and, when ../shared is present, Kyverno's sample-policy library. Prints Markdown and
// writes it to bench/results/rbac-<date>.md.
// Kinds come from the built-in kind table (a cluster serving only Kubernetes' own kinds and
// Kyverno's), so the figures do not depend on a cluster.
// Usage: npm run report:rbac [-- --shared DIR]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asObject } from '../engine/core/json';
import { knownKindTable } from '../engine/kube';
import { classifyDocument } from '../engine/loader';
import { readDocuments } from '../cli/io/documents';
import { describeRules, webhookRbac } from '../deploy/rbac';

type Json = Record<string, unknown>;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sharedFlag = process.argv.indexOf('--shared');
const shared = sharedFlag >= 0 ? resolve(process.argv[sharedFlag + 1]) : resolve(root, '../shared/conformance');
const NS = 'kyverno-studio';
const kinds = knownKindTable();

function policiesAt(path: string): Json[] {
  const read = readDocuments([path]);
  return read.documents.filter((d) => classifyDocument(d.value) === 'policy').map((d) => d.value as Json);
}

/** Every RBAC rule of the plan as one line, scoped "cluster" or "ns <name>". */
function ruleLines(policies: Json[]): string[] {
  return webhookRbac(NS, policies, kinds).objects.flatMap((o) => {
    const meta = asObject(o.metadata);
    if (o.kind === 'ClusterRole') return describeRules(o.rules, 'cluster');
    if (o.kind === 'Role') return describeRules(o.rules, `ns ${String(meta.namespace)}`);
    return [];
  });
}

const name = (p: Json) => `${String(p.kind)} ${asObject(p.metadata).namespace ? `${String(asObject(p.metadata).namespace)}/` : ''}${String(asObject(p.metadata).name)}`;
const out: string[] = [];
const base = ruleLines([]);
const baseSet = new Set(base);
const added = (lines: string[]) => lines.filter((l) => !baseSet.has(l));
const removed = (lines: string[]) => base.filter((l) => !lines.includes(l));

out.push(`# The webhook's RBAC, before and after policies (${new Date().toISOString()})`, '');
out.push('Derived by `deploy/rbac.ts` `webhookRbac` with the built-in kind table; `deploy` and `deploy --render` apply exactly these rules.', '');
out.push(`## Before: no policies (${base.length} rules)`, '', '```', ...base, '```', '');

const examples = policiesAt(join(root, 'examples/policies'));
out.push(`## After: the ${examples.length} bundled example policies (examples/policies)`, '');
for (const p of examples) {
  const extra = added(ruleLines([p]));
  out.push(`- **${name(p)}** adds ${extra.length === 0 ? 'nothing' : extra.length === 1 ? '1 rule' : `${extra.length} rules`}${extra.length ? ':' : ''}`);
  for (const l of extra) out.push(`  - \`${l}\``);
}
const all = ruleLines(examples);
out.push('', `All ${examples.length} together: ${all.length} rules, ${added(all).length} added to the ${base.length} of the base, ${removed(all).length} removed.`);
const extraAll = added(all);
const count = (test: (l: string) => boolean) => extraAll.filter(test).length;
out.push(`Of the added rules: ${count((l) => /\bsecrets\b/.test(l))} name Secrets, ${count((l) => /create|update|patch|delete/.test(l))} write, ${count((l) => /\*/.test(l))} use \`*\`.`, '');

// Widened and narrowed: a namespaced Policy that generates gets a Role in its own namespace
// (never cluster-wide writes), and the Role goes when the Policy does.
const generating: Json = {
  apiVersion: 'kyverno.io/v1',
  kind: 'Policy',
  metadata: { name: 'team-defaults', namespace: 'team-a' },
  spec: { rules: [{ name: 'quota', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, generate: { apiVersion: 'v1', kind: 'ResourceQuota', name: 'default', namespace: 'team-a', data: { spec: { hard: { pods: '10' } } } } }] },
};
const widened = ruleLines([...examples, generating]);
out.push('## Widened, then narrowed: the examples plus a namespaced generate Policy (team-a/team-defaults, a ResourceQuota)', '');
out.push(`Added to the examples' ${all.length} rules:`, '', '```', ...widened.filter((l) => !all.includes(l)), '```', '');
out.push(`When the Policy is deleted the plan is the examples' ${all.length} rules again, and deploy deletes the Role and RoleBinding in team-a (test/cluster/render.test.ts proves it against the real API server).`, '');

const library = join(shared, 'kyverno-policies');
if (existsSync(library)) {
  const policies = policiesAt(library);
  const withExtra = policies.map((p) => ({ p, extra: added(ruleLines([p])) })).filter((x) => x.extra.length > 0);
  const union = ruleLines(policies);
  const writes = added(union).filter((l) => /create|update|delete/.test(l));
  const secrets = added(union).filter((l) => /\/secrets\b|,secrets\b|\/[^ ]*secrets/.test(l));
  out.push(`## Kyverno's sample-policy library (${relative(root, library)}, ${policies.length} policies)`, '');
  out.push(`- ${withExtra.length} of ${policies.length} policies need a rule beyond the base; with all of them served the role has ${union.length} rules (${added(union).length} beyond the base).`);
  out.push(`- Write rules: ${writes.length} (generate targets, mutate-existing targets, cleanup deletes, apiCall POSTs):`);
  for (const l of writes) out.push(`  - \`${l}\``);
  out.push(`- Rules naming Secrets: ${secrets.length}${secrets.length ? ':' : ''}`);
  for (const l of secrets) out.push(`  - \`${l}\``);
  out.push('');
} else {
  out.push(`(Kyverno's sample-policy library not found at ${library}: its section is left out.)`, '');
}

out.push('For comparison, Kyverno\'s chart binds the built-in `view` ClusterRole (get/list/watch on every namespaced kind but Secrets) to its admission, background and reports controllers, whatever policies are installed; the webhook here had get/list/watch on `*/*` (Secrets included) before least privilege.');

const text = out.join('\n') + '\n';
process.stdout.write(text);
const results = join(root, 'bench/results');
mkdirSync(results, { recursive: true });
writeFileSync(join(results, `rbac-${new Date().toISOString().slice(0, 10)}.md`), text);
