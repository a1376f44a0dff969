#!/usr/bin/env bash
# Starts an isolated code-server (VS Code 1.100.3) in its own process group and prints its PID
# (= process-group id: stop everything with `kill -- -PID`). Usage:
#   KS_E2E_HOME=... PORT=18080 STATE=/dir start-code-server.sh [code-server args...]
# KS_E2E_TRUST=1 keeps workspace trust on (restricted-mode tests); otherwise trust is disabled.
set -euo pipefail
E2E_HOME=${KS_E2E_HOME:-$HOME/.cache/kyverno-studio-e2e}
PORT=${PORT:?set PORT}
STATE=${STATE:?set STATE to a fresh directory}
CS="$E2E_HOME/code-server/node_modules/.bin/code-server"
TRUST_ENABLED=false
TRUST_ARGS=(--disable-workspace-trust)
if [ "${KS_E2E_TRUST:-}" = 1 ]; then TRUST_ENABLED=true; TRUST_ARGS=(); fi
mkdir -p "$STATE/home" "$STATE/user-data/User" "$STATE/extensions"
# Quiet, deterministic settings: no welcome page, update checks, telemetry, experiments, git scans.
[ -f "$STATE/user-data/User/settings.json" ] || cat > "$STATE/user-data/User/settings.json" <<JSON
{
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "security.workspace.trust.enabled": $TRUST_ENABLED,
  "git.enabled": false,
  "npm.autoDetect": "off",
  "window.commandCenter": false
}
JSON
# HOME/XDG_* keep code-server's config, logs and caches (and ~/.kube) inside STATE;
# EXTENSIONS_GALLERY='{}' stops the extension gallery lookups.
env HOME="$STATE/home" XDG_CONFIG_HOME="$STATE/home/.config" XDG_DATA_HOME="$STATE/home/.local/share" \
    XDG_CACHE_HOME="$STATE/home/.cache" EXTENSIONS_GALLERY='{}' \
  setsid "$CS" \
    --bind-addr "127.0.0.1:$PORT" --auth none \
    --disable-telemetry --disable-update-check "${TRUST_ARGS[@]}" \
    --disable-getting-started-override --disable-file-downloads \
    --user-data-dir "$STATE/user-data" --extensions-dir "$STATE/extensions" \
    "$@" > "$STATE/code-server.log" 2>&1 &
PID=$!
echo "$PID" > "$STATE/code-server.pid"
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && { echo "$PID"; exit 0; }
  kill -0 "$PID" 2>/dev/null || { cat "$STATE/code-server.log" >&2; exit 1; }
  sleep 0.25
done
echo "code-server did not come up on port $PORT" >&2
kill -- "-$PID" 2>/dev/null || true
exit 1
