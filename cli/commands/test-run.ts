/** Running `kyverno test` files from disk; shared by the `test` command and the scripts. */
import { formatLoadError, parseYamlDocuments } from '../../engine/loader';
import { runTestDocuments, testDocuments, testFamilies, testFilePassed, testInputPaths, type PolicyFamily, type RunTimings } from '../../engine/testing';
import type { TestFileResult } from '../../engine/testing';
import { classifyDocument } from '../../engine/loader';
import { exists, findTestFiles, readAll, readFailure, readText } from '../io/files';

export interface TestRunSummary {
  files: number;
  filesPassed: number;
  rows: number;
  rowsPassed: number;
}

export interface TestRunReport {
  files: TestFileResult[];
  summary: TestRunSummary;
}

export interface TestRunOptions {
  fileName?: string;
  now?: Date;
  timings?: RunTimings;
}

/** Reads one test file and everything it names, then runs it. Never throws. */
export function runTestFileFromDisk(path: string, options: TestRunOptions = {}): TestFileResult {
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    return { path, error: readFailure(path, err), rows: [] };
  }
  const t0 = performance.now();
  const parsed = parseYamlDocuments(text, path);
  if (options.timings) options.timings.parseMs += performance.now() - t0;
  if (parsed.errors.length > 0) return { path, error: formatLoadError(parsed.errors[0]), rows: [] };
  const docs = testDocuments(parsed.documents);
  if (docs.length === 0) return { path, error: `${path}: no Test document found`, rows: [] };
  const failures: string[] = [];
  const files = readAll([...new Set(docs.flatMap((doc) => testInputPaths(path, doc)))], new Map([[path, text]]), failures);
  if (failures.length > 0) return { path, error: failures[0], rows: [] };
  return runTestDocuments(path, docs, files, { now: options.now, timings: options.timings });
}

export function summarize(files: TestFileResult[]): TestRunSummary {
  return {
    files: files.length,
    filesPassed: files.filter(testFilePassed).length,
    rows: files.reduce((n, f) => n + f.rows.length, 0),
    rowsPassed: files.reduce((n, f) => n + f.rows.filter((r) => r.ok).length, 0),
  };
}

/** Finds every test file under `paths` and runs them all; missing paths become file errors. */
export function runTestPaths(paths: string[], options: TestRunOptions = {}): TestRunReport {
  const { files, missing } = findTestFiles(paths, options.fileName ?? 'kyverno-test.yaml');
  const results: TestFileResult[] = missing.map((p) => ({ path: p, error: `${p}: no such file or directory`, rows: [] }));
  for (const f of files) results.push(runTestFileFromDisk(f, options));
  return { files: results, summary: summarize(results) };
}

export interface TestFileDescription {
  families: PolicyFamily[];
  /** Inputs the test names that do not exist on disk (such a test cannot run). */
  missingInputs: string[];
}

/** What a test file covers (policy families) and which of its inputs are missing. Never throws. */
export function describeTestFile(path: string): TestFileDescription {
  try {
    const parsed = parseYamlDocuments(readText(path), path);
    const doc = parsed.documents.find((d) => classifyDocument(d.value) === 'test') ?? parsed.documents[0];
    if (!doc) return { families: [], missingInputs: [] };
    const inputs = testInputPaths(path, doc.value);
    return { families: testFamilies(path, doc.value, readAll(inputs)), missingInputs: inputs.filter((p) => !exists(p)) };
  } catch {
    return { families: [], missingInputs: [] };
  }
}
