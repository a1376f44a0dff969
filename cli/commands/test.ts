/** `kyverno-studio test [PATH...]`: runs kyverno-test.yaml files like `kyverno test`. */
import { parseCommandArgs, single, type FlagSpec, type ParsedArgs } from '../../io/args';
import { cloneGitPaths } from '../io/git-source';
import { formatResults, resultRows, resultTable, TEST_OUTPUT_FORMATS, type ResultRow, type TestOutputFormat } from '../output/test-results';
import type { Command, CommandIO } from './command';
import { errorText } from './command';
import { readTestPaths, registrySnapshotForTests, testRunReport, type TestRunReport } from './test-run';
import { writeFileSync } from 'node:fs';
import { readText } from '../io/files';
import { coverageReport, formatCoverage } from '../output/test-coverage';
import { DEFAULT_SELECTOR, parseTestCaseSelector, selectTestResults } from './test-selector';
import { runCallingServices } from './service-calls';
import { offlineCluster } from '../../engine/evaluate';

const USAGE = `Usage: kyverno-studio test [PATH...] [flags]

Runs every kyverno-test.yaml found below the given paths (default: current folder).

Flags:
  -f, --file-name NAME            test file name to look for (default kyverno-test.yaml)
  -t, --test-case-selector SEL    run only the results matching "policy=…,rule=…,resource=…"
                                  (wildcards allowed; default "${DEFAULT_SELECTOR}")
  -o, --output-format FORMAT      print result tables as json, yaml, markdown or junit
      --detailed-results          add the MESSAGE column
      --fail-only                 only show failing rows, aggregated after the summary
      --remove-color              accepted for Kyverno compatibility (output is never colored)
      --require-tests             exit 1 when no test file is found
      --registry                  read image signatures from OCI registries for verifyImages rules
      --json                      print kyverno-studio's own machine-readable report
      --coverage                  report which rules (and CEL validations) the tests' resources
                                  exercised, per policy file and per folder (with --json: a
                                  "coverage" field)
      --coverage-output FILE      write the coverage report as JSON to FILE (implies --coverage)
  -b, --git-branch BRANCH         with an http(s) git repository URL as path: the branch
                                  (the URL then names a folder of the repository)
  -h, --help                      show this help

A path http(s)://HOST/OWNER/REPO[/BRANCH] is cloned (depth 1) with the git binary.`;

interface PrintOptions {
  failOnly: boolean;
  detailed: boolean;
  format?: TestOutputFormat;
}

/**
 * Kyverno's text output: per test its loading line and table, then the summary. As Kyverno,
 * test files that cannot be loaded are listed before anything runs and stop the run, and a
 * test whose inputs fail to load stops the run where it is (exit 1 in both cases).
 */
function printHuman(report: TestRunReport, io: CommandIO, options: PrintOptions): number {
  const loadErrors = report.files.filter((f) => f.loadError);
  if (loadErrors.length > 0) {
    io.out('\nTest errors:');
    for (const f of loadErrors) io.out(`  Path: ${f.path}\n    Error: ${f.error}`);
    io.err(`Error: found ${loadErrors.length} errors after loading tests`);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  const failedRows: ResultRow[] = [];
  for (const file of report.files) {
    io.out(`Loading test  ( ${file.path}${file.document !== undefined ? ` #${file.document}` : ''} ) ...`);
    if (file.error !== null) {
      io.err(`Error: failed to run test (${file.error})`);
      return 1;
    }
    if (file.rows.length === 0) {
      // Nothing was checked: that is a failure, not an empty success.
      io.err(`Error: ${file.path}: ${file.reason}`);
      failed++;
      continue;
    }
    io.out('  Checking results ...');
    const rows = resultRows(file.rows);
    for (const r of rows) (r.isFailure ? failed++ : passed++);
    failedRows.push(...rows.filter((r) => r.isFailure));
    if (options.failOnly) continue;
    if (options.format) io.out(formatResults(options.format, rows, options.detailed));
    else io.out(`\n${resultTable(rows, options.detailed)}\n`);
  }
  if (options.failOnly) io.out(`\nTest Summary: ${failed} out of ${passed + failed} tests failed\n`);
  else io.out(`\nTest Summary: ${passed} tests passed and ${failed} tests failed\n`);
  if (options.failOnly && failedRows.length > 0) {
    const renumbered = failedRows.map((r, i) => ({ ...r, id: i + 1 }));
    if (options.format) io.out(formatResults(options.format, renumbered, options.detailed));
    else io.out(`Aggregated Failed Test Cases : \n${resultTable(renumbered, options.detailed)}`);
  }
  return failed > 0 ? 1 : 0;
}

function readPolicyText(path: string): string | null {
  try {
    return readText(path);
  } catch {
    return null;
  }
}

export const TEST_FLAGS: FlagSpec = {
  values: ['file-name'],
  scalars: ['test-case-selector', 'output-format', 'coverage-output', 'git-branch'],
  booleans: ['json', 'coverage', 'fail-only', 'detailed-results', 'remove-color', 'require-tests', 'registry', 'help'],
  aliases: { f: 'file-name', t: 'test-case-selector', o: 'output-format', b: 'git-branch', h: 'help' },
  choices: { 'output-format': [...TEST_OUTPUT_FORMATS] },
};

export const testCommand: Command = {
  name: 'test',
  summary: 'Run kyverno-test.yaml suites (like `kyverno test`)',
  usage: USAGE,
  flags: TEST_FLAGS,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const args = parseCommandArgs(argv, TEST_FLAGS, USAGE, io);
    if (typeof args === 'number') return args;
    const format = single(args, 'output-format');
    if (format !== undefined && format !== '' && !TEST_OUTPUT_FORMATS.includes(format as TestOutputFormat)) {
      io.err('Error: invalid format, expected (json, yaml, markdown, junit)');
      return 1;
    }
    const selector = parseTestCaseSelector(single(args, 'test-case-selector') ?? DEFAULT_SELECTOR);
    if (selector.errors.length > 0) {
      io.out(`\nFilter errors:\n${selector.errors.map((e) => `  Error: ${e}`).join('\n')}`);
    }
    let clones: ReturnType<typeof cloneGitPaths> | undefined;
    try {
      // Git repositories among the paths are cloned for the run (Kyverno's git sources).
      clones = cloneGitPaths(args.positionals.length > 0 ? args.positionals : ['.'], single(args, 'git-branch') ?? '');
      return await runTests(clones.paths, args, selector, format, io);
    } catch (err) {
      io.err(`Error: ${errorText(err)}`);
      return 1;
    } finally {
      clones?.dispose();
    }
  },
};

async function runTests(paths: string[], args: ParsedArgs, selector: ReturnType<typeof parseTestCaseSelector>, format: string | undefined, io: CommandIO): Promise<number> {
    const coverageOutput = single(args, 'coverage-output');
    const coverage = args.booleans.has('coverage') || !!coverageOutput;
    let report: TestRunReport;
    let testsFound = 0;
    const select = (doc: Parameters<typeof selectTestResults>[0]) => (testsFound++, selectTestResults(doc, selector));
    try {
      // --registry (Kyverno's flag): read the images verifyImages rules check before running.
      const imageRegistry = args.booleans.has('registry') ? await registrySnapshotForTests(paths, single(args, 'file-name')) : undefined;
      // Kyverno's test calls what CEL http.Get/Post name beyond the mocks (apiCall.service
      // entries only with clusterResources: not made here, the entry stays unloaded).
      // The files are read once; the tests run again while they name calls not made yet (each
      // test has its own cluster: the one given here only carries the calls).
      const tests = readTestPaths(paths, { fileName: single(args, 'file-name'), select, imageRegistry, coverage });
      report = await runCallingServices(offlineCluster({}), (cluster) => testRunReport(tests, cluster), (call) => call.caller === 'http');
    } catch (err) {
      io.err(`Error: ${errorText(err)}`);
      return 1;
    }
    // Tests whose results the selector all left out are skipped, not missing.
    const noTests = report.files.length === 0 && testsFound === 0;
    const coverageResult = coverage ? coverageReport(report.files, readPolicyText) : undefined;
    if (coverageOutput && coverageResult) {
      try {
        writeFileSync(coverageOutput, `${JSON.stringify(coverageResult, null, 2)}\n`);
      } catch (err) {
        io.err(`Error: ${errorText(err)}`);
        return 1;
      }
    }
    if (args.booleans.has('json')) io.out(JSON.stringify(coverageResult ? { ...report, coverage: coverageResult } : report));
    else if (noTests) {
      // Kyverno's wording, plus which paths were searched for what.
      io.out('\nNo test yamls available');
      io.err(`Warning: ${paths.join(', ')}: no ${single(args, 'file-name') ?? 'kyverno-test.yaml'} found`);
    } else {
      const code = printHuman(report, io, { failOnly: args.booleans.has('fail-only'), detailed: args.booleans.has('detailed-results'), format: (format || undefined) as TestOutputFormat | undefined });
      if (coverageResult && args.booleans.has('coverage')) io.out(`\n${formatCoverage(coverageResult)}`);
      return code;
    }
    if (noTests) {
      // Kyverno: exit 0 unless --require-tests, or the selector had errors.
      if (args.booleans.has('require-tests')) {
        io.err('Error: no tests found');
        return 1;
      }
      return selector.errors.length > 0 ? 1 : 0;
    }
    const allPassed = report.summary.filesPassed === report.summary.files;
    return allPassed ? 0 : 1;
}
