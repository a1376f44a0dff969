/**
 * `kyverno-studio fix test|policy`: Kyverno's `kyverno fix` (experimental there, behind
 * KYVERNO_EXPERIMENTAL; always available here). Rewrites legacy test files (with their values
 * and user info files) and kyverno.io policies; prints what it would change, writes with --save.
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseYamlDocuments } from '../../engine/loader';
import { isJsonObject } from '../../engine/core/json';
import type { JsonObject } from '../../engine/core/types';
import { FixLoadError, fixKindOf, fixPolicy, fixTest, type FixedDocument } from '../../engine/testing/fix';
import { parseCommandArgs, single, type FlagSpec } from '../../io/args';
import { exists, findTestFiles, readText, yamlFilesAt } from '../io/files';
import { goYaml } from './apply-report';
import type { Command, CommandIO } from './command';
import { errorText, runSubcommand } from './command';

const USAGE = `Usage: kyverno-studio fix test|policy DIR... [flags]

Fixes legacy Kyverno files, as kyverno fix does (shows the changes; --save writes them).

Commands:
  test     fix test files (and their values and user info files)
  policy   fix kyverno.io policies`;

const TEST_USAGE = `Usage: kyverno-studio fix test DIR... [flags]

Rewrites test files in the current format: apiVersion and kind set, the top-level name moved to
metadata.name, duplicate resources removed, results sorted; values and user info files get
their apiVersion and kind.

Flags:
  -f, --file-name NAME   test file name (default kyverno-test.yaml)
      --save             write the fixed files
      --force            write even the files that need no change
      --compress         merge results that differ only by their resources
  -h, --help             show this help`;

const POLICY_USAGE = `Usage: kyverno-studio fix policy DIR... [flags]

Rewrites ClusterPolicies and Policies: validationFailureAction spelled Audit or Enforce, legacy
match/exclude blocks moved into "any", old condition operators (Equal, NotEqual, In, NotIn)
renamed.

Flags:
      --save             write the fixed files
  -h, --help             show this help`;

export const FIX_TEST_FLAGS: FlagSpec = { values: [], scalars: ['file-name'], booleans: ['save', 'force', 'compress', 'help'], aliases: { f: 'file-name', h: 'help' } };
export const FIX_POLICY_FLAGS: FlagSpec = { values: [], booleans: ['save', 'help'], aliases: { h: 'help' } };

/** The YAML Kyverno writes (sigs.k8s.io/yaml: sorted keys), documents joined by `---`. */
const yamlStream = (docs: JsonObject[], leading: boolean) => docs.map((d, i) => `${leading || i > 0 ? '---\n' : ''}${goYaml(d)}`).join('');

/** The documents of a YAML file; throws the first parse error (or the read error). */
function yamlValues(path: string): unknown[] {
  const parsed = parseYamlDocuments(readText(path), path);
  if (parsed.errors.length > 0) throw new Error(parsed.errors[0].message);
  return parsed.documents.map((d) => d.value);
}

/** A values or user info file named by a test: fixed, and saved as Kyverno saves it. */
function fixSideFile(kind: 'Values' | 'UserInfo', label: string, path: string, save: boolean, force: boolean, io: CommandIO): void {
  let result: FixedDocument;
  try {
    result = fixKindOf(yamlValues(path)[0] ?? null, kind);
  } catch (err) {
    io.out(`    ERROR: failed to load ${label}: ${errorText(err)}`);
    return;
  }
  for (const m of result.messages) io.out(`  WARNING: ${m}`);
  if (save && (force || result.changed)) {
    io.out(`  Saving ${label} file (${path})...`);
    try {
      writeFileSync(path, goYaml(result.fixed));
      io.out('    OK');
    } catch (err) {
      io.out(`    ERROR: saving ${label} file (${path}): ${errorText(err)}`);
    }
  }
}

function runFixTest(argv: string[], io: CommandIO): number {
  const args = parseCommandArgs(argv, FIX_TEST_FLAGS, TEST_USAGE, io);
  if (typeof args === 'number') return args;
  const fileName = single(args, 'file-name') ?? 'kyverno-test.yaml';
  if (fileName === '') {
    io.err('Error: file-name must not be set to an empty string');
    return 1;
  }
  if (args.positionals.length === 0) {
    io.err('Error: requires at least 1 arg(s), only received 0');
    return 1;
  }
  const missing = args.positionals.find((p) => !exists(p));
  if (missing !== undefined) {
    io.err(`Error: open ${missing}: no such file or directory`);
    return 1;
  }
  const save = args.booleans.has('save');
  const force = args.booleans.has('force');
  const { files } = findTestFiles(args.positionals, fileName);
  for (const path of files) {
    let loadError: string | undefined;
    let documents: unknown[] = [];
    try {
      documents = yamlValues(path);
    } catch (err) {
      loadError = errorText(err);
    }
    if (loadError !== undefined) {
      io.out(`Processing test file (${path})...`);
      io.out(`  ERROR: loading test file (${path}): ${loadError}`);
      continue;
    }
    const fixedDocs: JsonObject[] = [];
    let needsSave = false;
    let unreadable = false;
    for (const doc of documents) {
      io.out(`Processing test file (${path})...`);
      let result: FixedDocument;
      try {
        result = fixTest(doc, basename(path), args.booleans.has('compress'));
      } catch (err) {
        if (!(err instanceof FixLoadError)) throw err;
        io.out(`  ERROR: loading test file (${path}): ${err.message}`);
        unreadable = true;
        continue;
      }
      for (const m of result.messages) io.out(`  WARNING: ${m}`);
      fixedDocs.push(result.fixed);
      needsSave ||= result.changed;
      const test = result.fixed;
      if (typeof test.userinfo === 'string' && test.userinfo !== '') {
        io.out(`  Processing user info file (${test.userinfo})...`);
        fixSideFile('UserInfo', 'user info', join(dirname(path), test.userinfo), save, force, io);
      }
      if (typeof test.variables === 'string' && test.variables !== '') {
        io.out(`  Processing values file (${test.variables})...`);
        fixSideFile('Values', 'values', join(dirname(path), test.variables), save, force, io);
      }
      io.out('');
    }
    // Unlike Kyverno (which would write the file without the documents it could not load), a
    // file with an unreadable document is left as it is.
    if (save && (force || needsSave) && !unreadable) {
      io.out(`  Saving test file (${path})...`);
      try {
        writeFileSync(path, yamlStream(fixedDocs, false));
        io.out('    OK');
      } catch (err) {
        io.out(`    ERROR: saving test file (${path}): ${errorText(err)}`);
      }
    }
  }
  io.out('Done.');
  return 0;
}

const POLICY_KINDS = new Set(['ClusterPolicy', 'Policy']);
const VAP_KINDS = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];

function runFixPolicy(argv: string[], io: CommandIO): number {
  const args = parseCommandArgs(argv, FIX_POLICY_FLAGS, POLICY_USAGE, io);
  if (typeof args === 'number') return args;
  if (args.positionals.length === 0) {
    io.err('Error: requires at least 1 arg(s), only received 0');
    return 1;
  }
  const missing = args.positionals.find((p) => !exists(p));
  if (missing !== undefined) {
    io.err(`Error: lstat ${missing}: no such file or directory`);
    return 1;
  }
  const save = args.booleans.has('save');
  for (const dir of args.positionals) {
    for (const path of yamlFilesAt(dir)) {
      let docs: JsonObject[];
      try {
        docs = yamlValues(path).filter(isJsonObject);
      } catch {
        // Kyverno skips files its loader cannot read, silently.
        continue;
      }
      const isKyverno = (d: JsonObject) => typeof d.apiVersion === 'string' && d.apiVersion.startsWith('kyverno.io/');
      const policies = docs.filter((d) => isKyverno(d) && POLICY_KINDS.has(String(d.kind)));
      if (policies.length === 0) continue;
      const fixed: JsonObject[] = [];
      let needsSave = false;
      for (const policy of policies) {
        io.out(`Processing file (${path})...`);
        const result = fixPolicy(policy);
        for (const m of result.messages) io.out(`  WARNING: ${m}`);
        fixed.push(result.fixed);
        needsSave ||= result.changed;
      }
      if (!save || !needsSave) continue;
      // As Kyverno: the file is written with its policies, then its ValidatingAdmissionPolicies
      // and their bindings; other documents in it are not kept.
      const vaps = VAP_KINDS.flatMap((kind) => docs.filter((d) => d.kind === kind && String(d.apiVersion).startsWith('admissionregistration.k8s.io/')));
      io.out(`  Saving file (${path})...`);
      try {
        writeFileSync(path, yamlStream([...fixed, ...vaps], true));
        io.out('    OK');
      } catch (err) {
        io.out(`    ERROR: saving file (${path}): ${errorText(err)}`);
      }
    }
  }
  io.out('Done.');
  return 0;
}

export const fixCommand: Command = {
  name: 'fix',
  summary: 'Fix legacy test files and policies (like `kyverno fix`)',
  usage: USAGE,
  subcommands: { test: FIX_TEST_FLAGS, policy: FIX_POLICY_FLAGS },
  run(argv: string[], io: CommandIO): number {
    return runSubcommand('fix', USAGE, (name) => (name === 'test' ? runFixTest : name === 'policy' ? runFixPolicy : undefined), argv, io);
  },
};
