/** Running `kyverno test` files from disk; shared by the `test` command and the scripts. */
import { parseYamlDocuments } from '../../engine/loader';
import { FAMILY_LABELS, failedTest, networkNeeds, runLoadedTest, testDocumentsOf, testFamilies, testFormatError, testFilePassed, testInputPaths, type PolicyFamily, type RunTimings } from '../../engine/testing';
import type { TestFileResult } from '../../engine/testing';
import type { LoadedDocument } from '../../engine/loader';
import { exists, findTestFiles, readAll, readFailure, readText } from '../io/files';
import { isJsonObject } from '../../engine/core/json';
import type { JsonObject, ServiceCall, ServiceCallRequest } from '../../engine/core/types';
import type { ImageRegistrySnapshot } from '../../engine/verify-images';
import { dockerConfigKeychain, prefetchImageRegistry } from '../../registry';

/**
 * `test --registry`: one registry snapshot for every test under `paths`, read before the
 * (synchronous) run from the policies and resources the tests name. Unreadable inputs are
 * left to the run, which reports them.
 */
export async function registrySnapshotForTests(paths: string[], fileName = 'kyverno-test.yaml'): Promise<ImageRegistrySnapshot> {
  const objects: JsonObject[] = [];
  for (const file of findTestFiles(paths, fileName).files) {
    try {
      const text = readText(file);
      for (const doc of testDocumentsOf(file, text).documents) {
        for (const [p, t] of readAll(testInputPaths(file, doc.value))) {
          for (const d of parseYamlDocuments(t, p).documents) if (isJsonObject(d.value)) objects.push(d.value);
        }
      }
    } catch {
      // reported by the run itself
    }
  }
  // Kyverno's policy kinds (classic and CEL) are the policies; pull secrets are looked up among all inputs.
  const policies = objects.filter((o) => typeof o.apiVersion === 'string' && /(^|\.)kyverno\.io\//.test(o.apiVersion) && isJsonObject(o.spec));
  return prefetchImageRegistry(policies, objects, { secrets: objects, keychain: dockerConfigKeychain() });
}

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
  imageRegistry?: ImageRegistrySnapshot;
  /**
   * Narrows each Test document before it runs (`--test-case-selector`); null skips the
   * document: it is not run and not reported, as Kyverno does when no result is selected.
   */
  select?: (doc: LoadedDocument) => LoadedDocument | null;
  /** Compute which rules the tests exercised (`TestFileResult.coverage`). */
  coverage?: boolean;
  /** Service calls made for the run, and where to note those not made yet (see runCallingServices). */
  serviceCalls?: ServiceCall[];
  serviceCallMisses?: ServiceCallRequest[];
}

/** The service calls made for a run, and where to note those not made yet (ClusterState's fields). */
export type ServiceCallState = { serviceCalls?: ServiceCall[]; serviceCallMisses?: ServiceCallRequest[] };

/** One Test document read with everything it names: its result when it cannot run, else its run. */
export type ReadTest = { result: TestFileResult } | { run: (calls: ServiceCallState) => TestFileResult };

/** Reads one test file and everything its Test documents name (once; they may run several times). Never throws. */
function readTestFile(path: string, options: TestRunOptions): ReadTest[] {
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    return [{ result: { ...failedTest(path, readFailure(path, err)), loadError: true } }];
  }
  const { documents, error } = testDocumentsOf(path, text, options.timings);
  if (error !== null) return [{ result: { ...failedTest(path, error), loadError: true } }];
  const tests: ReadTest[] = [];
  for (const loaded of documents) {
    const doc = options.select ? options.select(loaded) : loaded;
    if (doc === null) continue;
    const failures: string[] = [];
    const files = readAll(testInputPaths(path, doc.value), new Map([[path, text]]), failures);
    // A wrong format is reported before an input that cannot be read.
    if (failures.length > 0 && testFormatError(doc, text) === null) {
      tests.push({ result: failedTest(path, failures[0], documents.length > 1 ? doc.index + 1 : undefined) });
      continue;
    }
    tests.push({ run: (calls) => runLoadedTest(doc, text, documents.length, files, { now: options.now, timings: options.timings, imageRegistry: options.imageRegistry, coverage: options.coverage, serviceCalls: calls.serviceCalls, serviceCallMisses: calls.serviceCallMisses }) });
  }
  return tests;
}

/** Runs tests read by readTestPaths (again, with more service calls made, as often as needed). */
export function runReadTests(tests: readonly ReadTest[], calls: ServiceCallState = {}): TestFileResult[] {
  return tests.map((t) => ('result' in t ? t.result : t.run(calls)));
}

/** Reads one test file and everything it names, then runs each of its Test documents. Never throws. */
export function runTestFileFromDisk(path: string, options: TestRunOptions = {}): TestFileResult[] {
  return runReadTests(readTestFile(path, options), options);
}

export function summarize(files: TestFileResult[]): TestRunSummary {
  return {
    files: files.length,
    filesPassed: files.filter(testFilePassed).length,
    rows: files.reduce((n, f) => n + f.rows.length, 0),
    rowsPassed: files.reduce((n, f) => n + f.rows.filter((r) => r.ok).length, 0),
  };
}

/** Finds every test file under `paths` and reads them with their inputs; missing paths become file errors. */
export function readTestPaths(paths: string[], options: TestRunOptions = {}): ReadTest[] {
  const { files, missing } = findTestFiles(paths, options.fileName ?? 'kyverno-test.yaml');
  const tests: ReadTest[] = missing.map((p) => ({ result: { ...failedTest(p, `${p}: no such file or directory`), loadError: true } }));
  for (const f of files) tests.push(...readTestFile(f, options));
  return tests;
}

/** The report of tests read by readTestPaths, run with `calls`. */
export function testRunReport(tests: readonly ReadTest[], calls: ServiceCallState = {}): TestRunReport {
  const results = runReadTests(tests, calls);
  return { files: results, summary: summarize(results) };
}

/** Finds every test file under `paths` and runs them all; missing paths become file errors. */
export function runTestPaths(paths: string[], options: TestRunOptions = {}): TestRunReport {
  return testRunReport(readTestPaths(paths, options), options);
}

export interface TestFileDescription {
  families: PolicyFamily[];
  /** Inputs the test names that do not exist on disk (such a test cannot run). */
  missingInputs: string[];
  /** Why the test needs a public registry or the internet (empty when it runs offline). */
  needsNetwork: string[];
}

/** What a test file covers (policy families), which of its inputs are missing, and what it needs from the network. Never throws. */
export function describeTestFile(path: string): TestFileDescription {
  const out: TestFileDescription = { families: [], missingInputs: [], needsNetwork: [] };
  try {
    const parsed = parseYamlDocuments(readText(path), path);
    const families = new Set<PolicyFamily>();
    for (const doc of parsed.documents) {
      const inputs = testInputPaths(path, doc.value);
      const files = readAll(inputs);
      for (const f of testFamilies(path, doc.value, files)) families.add(f);
      out.missingInputs.push(...inputs.filter((p) => !exists(p) && !out.missingInputs.includes(p)));
      out.needsNetwork.push(...networkNeeds(path, doc.value, files).filter((r) => !out.needsNetwork.includes(r)));
    }
    out.families = FAMILY_LABELS.map(([f]) => f).filter((f) => families.has(f));
  } catch {
    // An unreadable file describes as empty; running it reports why.
  }
  return out;
}
