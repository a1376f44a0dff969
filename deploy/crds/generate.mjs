// Kyverno's CRDs live in this folder: the source of schemas/ (scripts/gen-schemas.mjs), hover
// docs and completion, and of what a deploy installs. `node deploy/crds/generate.mjs SOURCE_DIR`
// imports a new set from a Kyverno CRD folder; without an argument it rewrites index.json (the
// CRDs a deploy may install: policy kinds, policy exceptions, global context entries, policy
// reports) from the files here.
import { readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const source = process.argv[2] ?? here;
const wanted = [
  /^kyverno\.io_(clusterpolicies|policies|policyexceptions|cleanuppolicies|clustercleanuppolicies|updaterequests|globalcontextentries)\.yaml$/,
  /^policies\.kyverno\.io_.*\.yaml$/,
  /^wgpolicyk8s\.io_.*\.yaml$/,
];
if (source !== here) for (const f of readdirSync(here)) if (f.endsWith('.yaml')) rmSync(join(here, f));
const index = [];
for (const file of readdirSync(source).sort()) {
  if (!file.endsWith('.yaml') && file !== 'LICENSE') continue;
  const text = readFileSync(join(source, file), 'utf8');
  if (source !== here) writeFileSync(join(here, file), text);
  if (!wanted.some((re) => re.test(file))) continue;
  const crd = parse(text, { maxAliasCount: -1 });
  if (crd?.kind !== 'CustomResourceDefinition') throw new Error(`${file}: not a CustomResourceDefinition`);
  const { group, names, scope, versions } = crd.spec;
  const served = versions.filter((v) => v.served).map((v) => v.name);
  index.push({ file, name: crd.metadata.name, group, kind: names.kind, plural: names.plural, scope, versions: served });
}
writeFileSync(join(here, 'index.json'), JSON.stringify(index, null, 1) + '\n');
console.log(`deploy/crds: ${index.length} CRDs from ${source}`);
