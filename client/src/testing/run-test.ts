/**
 * Runs one kyverno-test.yaml the way `kyverno-studio test` does: read the test and every
 * file it names, then hand them to engine/testing. Open editors with unsaved changes win
 * over the disk, so the explorer tests what the user sees.
 */
import { readFileSync, statSync } from 'node:fs';
import { walkFiles } from '../../../io/walk';
import { parseYamlDocuments } from '../../../engine/loader';
import { combineTestResults, failedTest, runTestText, testInputPaths, type TestFileResult } from '../../../engine/testing';

const YAML_FILE = /\.(ya?ml|json)$/i;
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const MAX_FILES = 5000;

/** path → text of the files the user is editing (unsaved changes). */
export type Overlay = ReadonlyMap<string, string>;

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function yamlFilesAt(path: string, limit: { left: number }): string[] {
  if (!isDirectory(path)) return [path];
  if (limit.left <= 0) return [];
  const { files } = walkFiles(path, { keep: (name) => YAML_FILE.test(name), maxFiles: limit.left });
  limit.left -= files.length;
  return files;
}

function readText(path: string, overlay: Overlay): string | undefined {
  const open = overlay.get(path);
  if (open !== undefined) return open;
  try {
    if (statSync(path).size > MAX_FILE_BYTES) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the engine then reports the path as not found, by name
  }
}

/** Runs every Test document of the file; a file with several shows as one combined result. */
/** `coverage`: add which rules the run exercised (`TestFileResult.coverage`). */
export function runTestFile(path: string, overlay: Overlay = new Map(), now?: Date, coverage = false): TestFileResult {
  const text = readText(path, overlay);
  if (text === undefined) return failedTest(path, `${path}: cannot read file`);
  const parsed = parseYamlDocuments(text, path);
  const files = new Map<string, string>([[path, text]]);
  const limit = { left: MAX_FILES };
  for (const doc of parsed.documents) {
    for (const p of testInputPaths(path, doc.value)) {
      for (const f of yamlFilesAt(p, limit)) {
        if (files.has(f)) continue;
        const t = readText(f, overlay);
        if (t !== undefined) files.set(f, t);
      }
    }
  }
  return combineTestResults(path, runTestText(path, text, files, { now, coverage }));
}
