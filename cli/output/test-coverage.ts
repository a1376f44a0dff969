/** `kyverno-studio test --coverage`: the coverage report (text and JSON) from a run's results. */
import { coverageByFolder, coverageRanges, coverageTotals, mergeCoverage, type CoverageCounts, type CoverageRange, type PolicyCoverage, type TestFileResult } from '../../engine/testing';

export interface CoverageReport {
  /** How coverage is defined (see engine/testing/coverage.ts). */
  granularity: string;
  totals: CoverageCounts;
  folders: Array<{ folder: string } & CoverageCounts>;
  policies: PolicyCoverage[];
  /** Per policy file, the covered units with their 0-based positions. */
  files: Array<{ file: string; ranges: CoverageRange[] }>;
}

export const COVERAGE_GRANULARITY =
  'rule: exercised when some resource got a non-skip result; preconditions: held for some resource; CEL validation: reached by an evaluation (they stop at the first failure); patterns, deny and foreach count at rule level';

/** Merges the coverage of every test of a run; `readText` gives a policy file's text for positions (null when unreadable). */
export function coverageReport(files: TestFileResult[], readText: (path: string) => string | null): CoverageReport {
  const policies = mergeCoverage(files.map((f) => f.coverage ?? []));
  const byFile = new Map<string, PolicyCoverage[]>();
  for (const p of policies) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
  const withRanges = [...byFile].map(([file, list]) => {
    const text = readText(file);
    return { file, ranges: text === null ? [] : coverageRanges(text, list) };
  });
  return { granularity: COVERAGE_GRANULARITY, totals: coverageTotals(policies), folders: coverageByFolder(policies), policies, files: withRanges };
}

const percent = (n: number, of: number) => (of === 0 ? '-' : `${Math.floor((100 * n) / of)}%`);

/** The text form: per policy file its rules and what was never exercised, then per folder and in total. */
export function formatCoverage(report: CoverageReport): string {
  const lines = ['Policy coverage:'];
  const byFile = new Map<string, PolicyCoverage[]>();
  for (const p of report.policies) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
  for (const [file, policies] of byFile) {
    const counts = coverageTotals(policies);
    lines.push(`  ${file}: ${counts.rulesExercised}/${counts.rules} rules${counts.validations ? `, ${counts.validationsExercised}/${counts.validations} CEL validations` : ''}`);
    for (const p of policies) {
      for (const r of p.rules) {
        const missed = r.parts.filter((part) => !part.exercised).map((part) => (part.kind === 'validation' ? `validation ${part.path[part.path.length - 1]}` : 'preconditions never held'));
        if (!r.exercised) lines.push(`    never exercised: ${p.name}/${r.name}${r.matched ? ' (matched, always skipped)' : ''}`);
        else if (missed.length > 0) lines.push(`    ${p.name}/${r.name}: not reached: ${missed.join(', ')}`);
      }
    }
  }
  lines.push('', 'Coverage by folder:');
  for (const f of report.folders) lines.push(`  ${f.folder}: rules ${f.rulesExercised}/${f.rules} (${percent(f.rulesExercised, f.rules)})${f.validations ? `, CEL validations ${f.validationsExercised}/${f.validations}` : ''}`);
  const t = report.totals;
  lines.push(`Total: rules ${t.rulesExercised}/${t.rules} (${percent(t.rulesExercised, t.rules)})${t.validations ? `, CEL validations ${t.validationsExercised}/${t.validations} (${percent(t.validationsExercised, t.validations)})` : ''}`);
  return lines.join('\n');
}
