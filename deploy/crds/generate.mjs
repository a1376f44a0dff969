// Copies the CRDs a deploy may install (policy kinds, policy exceptions, policy reports) from a
// Kyverno CRD folder into this folder, with an index, so the project never reads ../shared at
// run time. Usage: node deploy/crds/generate.mjs [SOURCE_DIR]   (default /work/shared/crds)
import { readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const source = process.argv[2] ?? '/work/shared/crds';
const wanted = [
  /^kyverno\.io_(clusterpolicies|policies|policyexceptions)\.yaml$/,
  /^policies\.kyverno\.io_.*\.yaml$/,
  /^wgpolicyk8s\.io_.*\.yaml$/,
];
for (const f of readdirSync(here)) if (f.endsWith('.yaml') || f === 'index.json') rmSync(join(here, f));
const index = [];
for (const file of readdirSync(source).sort()) {
  if (!wanted.some((re) => re.test(file))) continue;
  const text = readFileSync(join(source, file), 'utf8');
  const crd = parse(text, { maxAliasCount: -1 });
  if (crd?.kind !== 'CustomResourceDefinition') throw new Error(`${file}: not a CustomResourceDefinition`);
  const { group, names, scope, versions } = crd.spec;
  const served = versions.filter((v) => v.served).map((v) => v.name);
  index.push({ file, name: crd.metadata.name, group, kind: names.kind, plural: names.plural, scope, versions: served });
  writeFileSync(join(here, file), text);
}
writeFileSync(join(here, 'index.json'), JSON.stringify(index, null, 1) + '\n');
console.log(`deploy/crds: ${index.length} CRDs from ${source}`);
