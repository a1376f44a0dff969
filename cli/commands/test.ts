/** `kyverno-studio test [PATH...]`: runs kyverno-test.yaml files like `kyverno test`. */
import { parseCommandArgs, single } from '../args';
import { renderTable } from '../output/table';
import type { Command, CommandIO } from './command';
import { errorText } from './command';
import { registrySnapshotForTests, runTestPaths, type TestRunReport } from './test-run';

const USAGE = `Usage: kyverno-studio test [PATH...] [flags]

Runs every kyverno-test.yaml found below the given paths (default: current folder).

Flags:
  -f, --file-name NAME   test file name to look for (default kyverno-test.yaml)
      --json             print machine-readable results
      --fail-only        only show failing rows
      --registry         read image signatures from OCI registries for verifyImages rules
  -h, --help             show this help`;

function printHuman(report: TestRunReport, io: CommandIO, failOnly: boolean): void {
  let passed = 0;
  let failed = 0;
  for (const file of report.files) {
    io.out(`\nLoading test  ( ${file.path}${file.document !== undefined ? ` #${file.document}` : ''} ) ...`);
    if (file.error !== null) {
      io.err(`Error: ${file.error}`);
      failed++;
      continue;
    }
    if (file.rows.length === 0) {
      // Nothing was checked: that is a failure, not an empty success.
      io.err(`Error: ${file.path}: ${file.reason}`);
      failed++;
      continue;
    }
    io.out('  Checking results ...');
    const rows = file.rows
      .map((r, i) => ({ r, id: i + 1 }))
      .filter(({ r }) => !failOnly || !r.ok)
      .map(({ r, id }) => [
        String(id),
        r.policy,
        r.rule,
        `${r.kind}/${r.resource}`,
        r.ok ? 'Pass' : 'Fail',
        r.reason,
      ]);
    for (const r of file.rows) (r.ok ? passed++ : failed++);
    if (rows.length > 0) io.out(`\n${renderTable(['ID', 'POLICY', 'RULE', 'RESOURCE', 'RESULT', 'REASON'], rows)}\n`);
  }
  io.out(`\nTest Summary: ${passed} tests passed and ${failed} tests failed\n`);
}

export const testCommand: Command = {
  name: 'test',
  summary: 'Run kyverno-test.yaml suites (like `kyverno test`)',
  usage: USAGE,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const args = parseCommandArgs(argv, { values: ['file-name'], booleans: ['json', 'fail-only', 'help', 'registry'], aliases: { f: 'file-name', h: 'help' } }, USAGE, io);
    if (typeof args === 'number') return args;
    const paths = args.positionals.length > 0 ? args.positionals : ['.'];
    let report: TestRunReport;
    try {
      // --registry (Kyverno's flag): read the images verifyImages rules check before running.
      const imageRegistry = args.booleans.has('registry') ? await registrySnapshotForTests(paths, single(args, 'file-name')) : undefined;
      report = runTestPaths(paths, { fileName: single(args, 'file-name'), imageRegistry });
    } catch (err) {
      io.err(`Error: ${errorText(err)}`);
      return 1;
    }
    if (args.booleans.has('json')) io.out(JSON.stringify(report));
    else {
      if (report.files.length === 0) {
        // Kyverno's wording and exit code (0), plus which paths were searched for what.
        io.out('\nNo test yamls available');
        io.err(`Warning: ${paths.join(', ')}: no ${single(args, 'file-name') ?? 'kyverno-test.yaml'} found`);
      }
      printHuman(report, io, args.booleans.has('fail-only'));
    }
    const allPassed = report.summary.filesPassed === report.summary.files;
    return allPassed ? 0 : 1;
  },
};
