#!/usr/bin/env bash
# The browser build (vscode.dev, github.dev) in a real browser (npm run test:browser, ~1 min):
#  1. the language server bundle in a Web Worker in chromium, speaking LSP over postMessage
#     with a static page (browser-worker.mjs: diagnostics, workspace scan through the client,
#     completion, hover);
#  2. the whole extension in VS Code's web worker extension host (code-server 4.100.3 with
#     extensionDevelopmentKind=web): web-suite/ through extensionTestsPath, then the Problems
#     panel and the command palette (no deploy) with screenshots.
# Needs setup.sh's code-server and chromium (installed and cached there). Artifacts go to
# test-output/browser/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export KS_E2E_HOME=${KS_E2E_HOME:-$HOME/.cache/kyverno-studio-e2e}
OUT="$ROOT/test-output/browser"
PORT=${KS_E2E_BROWSER_PORT:-18630}

bash "$HERE/setup.sh"
rm -rf "$OUT"
mkdir -p "$OUT/tmp"
export TMPDIR="$OUT/tmp"
PID=""
cleanup() { [ -n "$PID" ] && kill -- "-$PID" 2>/dev/null || true; }
trap cleanup EXIT

echo "== build"
(cd "$ROOT" && node scripts/build.mjs)
node -e "
const { build } = require('$ROOT/node_modules/esbuild');
build({ entryPoints: ['$HERE/web-suite/index.ts'], outfile: '$OUT/web-suite/index.js', bundle: true, platform: 'browser',
  format: 'cjs', external: ['vscode'], target: 'chrome110', logLevel: 'warning' }).catch(() => process.exit(1));"

echo "== the language server in a chromium Web Worker"
node "$HERE/browser-worker.mjs" --runs 1 --out "$OUT"

echo "== the extension in VS Code's web worker extension host (code-server)"
mkdir -p "$OUT/web/state/home"
cp -r "$HERE/workspace" "$OUT/web/workspace"
PID=$(PORT=$PORT STATE="$OUT/web/state" "$HERE/start-code-server.sh")
# The extension runs in the web worker extension host: remote.extensionKind (this VS Code's
# web workbench ignores the payload's extensionDevelopmentKind). Read when the page loads.
node -e "
const f = '$OUT/web/state/user-data/User/settings.json';
const s = JSON.parse(require('fs').readFileSync(f, 'utf8'));
s['remote.extensionKind'] = { 'kyverno-studio.kyverno-studio': ['web'] };
require('fs').writeFileSync(f, JSON.stringify(s, null, 2));"
node "$HERE/web-extension-host.mjs" "http://127.0.0.1:$PORT" "$ROOT" "$OUT/web-suite/index.js" "$OUT/web/workspace" "$OUT/web"

echo "== browser build OK; screenshots in ${OUT#$ROOT/}/web/"
