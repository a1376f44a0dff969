/**
 * `npm run conformance:chainsaw [DIR] [--areas a,b] [--out PREFIX]`: Kyverno's chainsaw
 * scenarios (DIR/<area>/.../chainsaw-test.yaml) run offline through the webhook's admission
 * path (runner.ts); per area passed / failed / unsupported / skipped (Kyverno's CI does not run it), each failure with its reason,
 * written to PREFIX.json and PREFIX.md (default bench/results/chainsaw-offline). Without the
 * corpus (Kyverno's source is not part of the project) it says so and exits 0.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { runScenario, type ScenarioResult } from './runner';

const DEFAULT_DIR = '/work/kyverno-src/kyverno/test/conformance/chainsaw';

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name === 'chainsaw-test.yaml') out.push(path);
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
  const root = positional[0] ?? DEFAULT_DIR;
  if (!existsSync(root)) {
    console.log(`chainsaw corpus not found at ${root}: nothing to run (pass the folder holding Kyverno's test/conformance/chainsaw)`);
    return;
  }
  // Every area by default (folders starting with "_" hold step templates, not scenarios).
  const allAreas = readdirSync(root).filter((a) => !a.startsWith('_') && statSync(join(root, a)).isDirectory()).sort();
  const areas = (argValue(args, '--areas')?.split(',') ?? allAreas).map((a) => [a, existsSync(join(root, a)) ? testFiles(join(root, a)) : []] as const).filter(([, files]) => files.length > 0);
  const out = argValue(args, '--out') ?? 'bench/results/chainsaw-offline';
  const results: Record<string, ScenarioResult[]> = {};
  for (const [area, files] of areas) {
    results[area] = [];
    for (const file of files) results[area].push(await runScenario(file, relative(root, dirname(file)), root));
  }
  const summary = Object.fromEntries(
    Object.entries(results).map(([area, rs]) => [area, { passed: rs.filter((r) => r.status === 'passed').length, failed: rs.filter((r) => r.status === 'failed').length, unsupported: rs.filter((r) => r.status === 'unsupported').length, skipped: rs.filter((r) => r.status === 'skipped').length }]),
  );
  const total = Object.values(summary).reduce((a, s) => ({ passed: a.passed + s.passed, failed: a.failed + s.failed, unsupported: a.unsupported + s.unsupported, skipped: a.skipped + s.skipped }), { passed: 0, failed: 0, unsupported: 0, skipped: 0 });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, JSON.stringify({ date: new Date().toISOString(), root, summary, total, results }, null, 2) + '\n');
  const md: string[] = ['# Kyverno chainsaw scenarios, offline', '', `Corpus: \`${root}\`, ${new Date().toISOString()}`, '', '| area | passed | failed | unsupported | skipped |', '|---|---|---|---|---|'];
  for (const [area, s] of Object.entries(summary)) md.push(`| ${area} | ${s.passed} | ${s.failed} | ${s.unsupported} | ${s.skipped} |`);
  md.push(`| **total** | ${total.passed} | ${total.failed} | ${total.unsupported} | ${total.skipped} |`, '');
  for (const [area, rs] of Object.entries(results)) {
    const failed = rs.filter((r) => r.status === 'failed');
    if (failed.length === 0) continue;
    md.push(`## ${area}: failures`, '');
    for (const r of failed) md.push(`- \`${r.path}\`: ${r.reason}`);
    md.push('');
  }
  md.push('## Unsupported (reasons)', '');
  const reasons = new Map<string, number>();
  for (const r of Object.values(results).flat()) if (r.status === 'unsupported') {
    const key = (r.reason ?? '').replace(/^step \d+( \([^)]*\))?: /, '').replace(/\s+/g, ' ').slice(0, 100);
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  for (const [reason, n] of [...reasons].sort((a, b) => b[1] - a[1])) md.push(`- ${n} × ${reason}`);
  writeFileSync(`${out}.md`, md.join('\n') + '\n');
  for (const [area, s] of Object.entries(summary)) console.log(`${area.padEnd(22)} passed ${String(s.passed).padStart(4)}  failed ${String(s.failed).padStart(4)}  unsupported ${String(s.unsupported).padStart(4)}  skipped ${String(s.skipped).padStart(3)}`);
  console.log(`${'total'.padEnd(22)} passed ${String(total.passed).padStart(4)}  failed ${String(total.failed).padStart(4)}  unsupported ${String(total.unsupported).padStart(4)}  skipped ${String(total.skipped).padStart(3)}`);
  console.log(`written ${out}.json and ${out}.md`);
}

main().catch((e: Error) => {
  console.error(`chainsaw-offline: ${e.message}`);
  process.exitCode = 1;
});
