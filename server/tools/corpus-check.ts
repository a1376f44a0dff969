/**
 * Opens every policy referenced by the conformance corpus's kyverno-test.yaml files and
 * counts error-level diagnostics (all of them are false errors: Kyverno accepts these
 * policies). Usage: npx tsx server/tools/corpus-check.ts [corpusDir] [--verbose]
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseFile } from '../src/service/documents';
import { validateFile } from '../src/service/validate';
import type { Diagnostic } from '../src/service/codes';

/** The conformance corpus, next to the repository (../shared). */
export const DEFAULT_CORPUS = resolve(__dirname, '..', '..', '..', 'shared', 'conformance', 'kyverno-policies');

export interface CorpusReport { files: number; errors: Array<{ file: string; diagnostic: Diagnostic }> }

function findTests(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name === 'kyverno-test.yaml' || name === 'kyverno-test.yml') out.push(p);
  }
  return out;
}

export function policyFiles(corpus: string): string[] {
  const files = new Set<string>();
  for (const t of findTests(corpus)) {
    let test: { policies?: unknown[] } | undefined;
    try { test = parse(readFileSync(t, 'utf8')); } catch { continue; }
    for (const p of test?.policies ?? []) {
      if (typeof p !== 'string' || /^https?:/.test(p)) continue;
      const abs = resolve(dirname(t), p);
      if (existsSync(abs) && statSync(abs).isFile()) files.add(abs);
    }
  }
  return [...files].sort();
}

export function checkCorpus(corpus: string): CorpusReport {
  const errors: CorpusReport['errors'] = [];
  const files = policyFiles(corpus);
  for (const f of files) {
    const parsed = parseFile('file://' + f, readFileSync(f, 'utf8'));
    for (const d of validateFile(parsed)) if (d.severity === 1) errors.push({ file: f, diagnostic: d });
  }
  return { files: files.length, errors };
}

if (process.argv[1]?.endsWith('corpus-check.ts')) {
  const corpus = process.argv.find((a, i) => i > 1 && !a.startsWith('--')) ?? DEFAULT_CORPUS;
  const t0 = Date.now();
  const r = checkCorpus(corpus);
  const verbose = process.argv.includes('--verbose');
  const byCode = new Map<string, number>();
  for (const e of r.errors) byCode.set(e.diagnostic.code, (byCode.get(e.diagnostic.code) ?? 0) + 1);
  for (const e of verbose ? r.errors : r.errors.slice(0, 40)) {
    console.log(`${e.file}:${e.diagnostic.range.start.line + 1}:${e.diagnostic.range.start.character + 1} ${e.diagnostic.code} ${e.diagnostic.message}`);
  }
  console.log(`${r.files} policy files, ${r.errors.length} error-level diagnostics`, Object.fromEntries(byCode), `${Date.now() - t0} ms`);
  process.exit(r.errors.length ? 1 : 0);
}
