// Runs the same extension-host suite in desktop VS Code through @vscode/test-electron, where
// VS Code can be downloaded. Exit codes: 0 suite passed, 1 suite failed, 3 VS Code could not be
// downloaded or started here (run.sh then relies on the code-server run of the same suite).
// Usage: node electron.mjs <extensionDevelopmentPath> <extensionTestsPath> <workspace> <cacheDir>
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';

const [DEV, TESTS, WORKSPACE, CACHE] = process.argv.slice(2);
if (!CACHE) {
  console.error('usage: node electron.mjs <extDevPath> <extTestsPath> <workspace> <cacheDir>');
  process.exit(2);
}
const VERSION = process.env.KS_E2E_VSCODE_VERSION || '1.100.3';

let vscodeExecutablePath;
try {
  vscodeExecutablePath = await downloadAndUnzipVSCode({ version: VERSION, cachePath: CACHE, timeout: 30000 });
} catch (err) {
  console.log(`@vscode/test-electron: VS Code ${VERSION} is not available here (${String(err?.message ?? err).split('\n')[0]})`);
  process.exit(3);
}
try {
  const code = await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath: DEV,
    extensionTestsPath: TESTS,
    launchArgs: [WORKSPACE, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
  process.exit(code === 0 ? 0 : 1);
} catch (err) {
  console.error('@vscode/test-electron run failed:', err);
  process.exit(1);
}
