/**
 * Test coverage for the Test Explorer, without the editor API (so it is unit-tested): the
 * coverage of the runs' policies merged per policy file and placed at the rules' lines by the
 * loader (engine/testing `coverageRanges`). explorer.ts turns it into VS Code's FileCoverage.
 */
import { coverageRanges, mergeCoverage, type CoverageRange, type PolicyCoverage, type TestFileResult } from '../../../engine/testing';

export interface FileStatements {
  /** Path of the policy file. */
  file: string;
  /** One statement per rule and per covered part (preconditions, CEL validation), in file order. */
  statements: CoverageRange[];
  covered: number;
  total: number;
}

/** Per policy file, its statements; `readText` gives a file's text (undefined when unreadable: the file is left out). */
export function coverageStatements(results: Iterable<TestFileResult>, readText: (path: string) => string | undefined): FileStatements[] {
  const policies = mergeCoverage([...results].map((r) => r.coverage ?? []));
  const byFile = new Map<string, PolicyCoverage[]>();
  for (const p of policies) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
  const out: FileStatements[] = [];
  for (const [file, list] of byFile) {
    const text = readText(file);
    if (text === undefined) continue;
    const statements = coverageRanges(text, list);
    out.push({ file, statements, covered: statements.filter((s) => s.exercised).length, total: statements.length });
  }
  return out;
}
