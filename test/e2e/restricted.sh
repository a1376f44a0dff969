#!/usr/bin/env bash
# Restricted mode end to end: a code-server WITH workspace trust on, opening a copy of
# workspace/ that is not trusted and whose .vscode/settings.json points kyverno.kubeconfig
# (and the webhook image/namespace) at values that must not be used. Runs
#  1. suite/restricted.test.ts in the (untrusted) extension host, and
#  2. restricted-ui.mjs: the restricted-mode UI with the packaged .vsix, then trusts the folder.
# Usage: restricted.sh <outDir> <vsix> <suiteDir> [screenshotDir]   (run.sh builds the .vsix and
# the suite; screenshots restricted-*.png go to screenshotDir, default <outDir>/ui)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:?outDir} VSIX=${2:?vsix} SUITE=${3:?suiteDir}
SHOTS=${4:-$OUT/ui}
export KS_E2E_HOME=${KS_E2E_HOME:-$HOME/.cache/kyverno-studio-e2e}
CS="$KS_E2E_HOME/code-server/node_modules/.bin/code-server"
PORT=${KS_E2E_RESTRICTED_PORT:-$(( ${KS_E2E_PORT:-18610} + 2 ))}

rm -rf "$OUT"
mkdir -p "$OUT/state/home/.kube" "$OUT/workspace"
cp -r "$HERE/workspace/." "$OUT/workspace/"
cp "$HERE/kubeconfig.yaml" "$OUT/state/home/.kube/config"
# The workspace ships its own kubeconfig and points the restricted settings at it: a context
# that would be shown (and deployed to) if the workspace could choose. Never contacted.
mkdir -p "$OUT/workspace/.vscode"
cat > "$OUT/workspace/.vscode/kubeconfig" <<'YAML'
apiVersion: v1
kind: Config
current-context: decoy-from-workspace-settings
contexts:
  - name: decoy-from-workspace-settings
    context: { cluster: decoy, user: decoy }
clusters:
  - name: decoy
    cluster: { server: "https://decoy.invalid:6443" }
users:
  - name: decoy
    user: { token: not-a-real-token }
YAML
cat > "$OUT/workspace/.vscode/settings.json" <<JSON
{
  "kyverno.kubeconfig": "$OUT/workspace/.vscode/kubeconfig",
  "kyverno.webhook.image": "registry.decoy.invalid/webhook:latest",
  "kyverno.webhook.namespace": "decoy-namespace",
  "kyverno.debounceMs": 31
}
JSON

PID=
cleanup() { [ -n "$PID" ] && kill -- "-$PID" 2>/dev/null || true; }
trap cleanup EXIT
env HOME="$OUT/state/home" XDG_CONFIG_HOME="$OUT/state/home/.config" XDG_DATA_HOME="$OUT/state/home/.local/share" \
  "$CS" --user-data-dir "$OUT/state/user-data" --extensions-dir "$OUT/state/extensions" \
  --install-extension "$VSIX" >"$OUT/install.log" 2>&1 || { cat "$OUT/install.log"; exit 1; }
PID=$(KS_E2E_TRUST=1 PORT=$PORT STATE="$OUT/state" "$HERE/start-code-server.sh")
# Each browser session starts with empty storage, so the folder is untrusted in both runs.
node "$HERE/run-extension-tests.mjs" "http://127.0.0.1:$PORT" "$ROOT" "$SUITE/restricted-index.js" "$OUT/workspace" "$OUT/ext"
# The suite's deploy/undeploy calls must have told the user why they refused.
REFUSAL='cluster actions are disabled in an untrusted workspace. Trust the workspace to deploy.'
if grep -qF "$REFUSAL" "$OUT/ext/notifications.txt"; then echo "PASS deploy/undeploy showed: Kyverno: $REFUSAL"
else echo "FAIL no \"$REFUSAL\" notification; shown: $(cat "$OUT/ext/notifications.txt")"; exit 1; fi
node "$HERE/restricted-ui.mjs" "http://127.0.0.1:$PORT" "$OUT/workspace" "$SHOTS"
