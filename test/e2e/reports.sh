#!/usr/bin/env bash
# The Policy Reports view end to end: a real kube-apiserver (test/cluster/harness.ts) whose
# reports are written by our in-cluster server (reports-cluster.ts), and a code-server whose
# ~/.kube/config is that cluster's, driven by reports-ui.mjs (screenshots reports-*.png).
# Needs the kube-apiserver/etcd binaries that test/cluster/scripts/build-kube-apiserver.sh
# builds (cached in ~/.cache/kube-local): without them this step says so and is skipped, since
# building them takes longer than the rest of the e2e run. About 2 minutes otherwise.
# Usage: reports.sh <outDir> <vsix> [screenshotDir]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:?outDir} VSIX=${2:?vsix}
SHOTS=${3:-$OUT/ui}
export KS_E2E_HOME=${KS_E2E_HOME:-$HOME/.cache/kyverno-studio-e2e}
CS="$KS_E2E_HOME/code-server/node_modules/.bin/code-server"
PORT=${KS_E2E_REPORTS_PORT:-$(( ${KS_E2E_PORT:-18610} + 3 ))}
KUBE_BIN=${KUBE_LOCAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-local}/bin
if [ ! -x "$KUBE_BIN/kube-apiserver" ] || [ ! -x "$KUBE_BIN/etcd" ] || [ ! -x "$KUBE_BIN/kubectl" ]; then
  echo "SKIPPED: no kube-apiserver/etcd/kubectl in $KUBE_BIN; build them with test/cluster/scripts/build-kube-apiserver.sh --with-controller-manager (npm run test:cluster does) to run the Policy Reports e2e"
  exit 0
fi

rm -rf "$OUT"
mkdir -p "$OUT/state/home/.kube" "$OUT/workspace" "$SHOTS"
cp -r "$HERE/workspace/." "$OUT/workspace/"
# Audit policies for ConfigMaps and Namespaces next to the workspace's Pod policies: the
# cluster then holds pass, fail (Enforce and Audit) and ClusterPolicyReports.
mkdir -p "$OUT/workspace/cluster-policies"
cat > "$OUT/workspace/cluster-policies/audit.yaml" <<'YAML'
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: configmaps-need-owner
spec:
  validationFailureAction: Audit
  rules:
    - name: check-owner
      match:
        any:
          - resources:
              kinds: [ConfigMap]
      validate:
        message: "ConfigMaps should name their owner."
        pattern:
          metadata:
            annotations:
              owner: "?*"
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: namespaces-need-team
spec:
  validationFailureAction: Audit
  rules:
    - name: ns-team
      match:
        any:
          - resources:
              kinds: [Namespace]
      validate:
        message: "Namespaces need a team label."
        pattern:
          metadata:
            labels:
              team: "?*"
YAML

DRIVER=""
CS_PID=""
cleanup() {
  [ -n "$CS_PID" ] && kill -- "-$CS_PID" 2>/dev/null || true
  if [ -n "$DRIVER" ]; then kill -TERM "$DRIVER" 2>/dev/null || true; wait "$DRIVER" 2>/dev/null || true; fi
}
trap cleanup EXIT

echo "starting kube-apiserver and the in-cluster server (log: ${OUT#$ROOT/}/cluster.log)"
(cd "$ROOT" && exec node --import tsx "$HERE/reports-cluster.ts" "$OUT/workspace" "$OUT/ready.json") >"$OUT/cluster.log" 2>&1 &
DRIVER=$!
for _ in $(seq 1 600); do
  [ -f "$OUT/ready.json" ] && break
  kill -0 "$DRIVER" 2>/dev/null || { cat "$OUT/cluster.log"; echo "the reports cluster did not start"; exit 1; }
  sleep 0.5
done
[ -f "$OUT/ready.json" ] || { tail -50 "$OUT/cluster.log"; echo "the reports cluster was not ready in 300 s"; exit 1; }
cat "$OUT/ready.json"
KUBECONFIG_FILE=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).kubeconfig)' "$OUT/ready.json")
cp "$KUBECONFIG_FILE" "$OUT/state/home/.kube/config"

env HOME="$OUT/state/home" XDG_CONFIG_HOME="$OUT/state/home/.config" XDG_DATA_HOME="$OUT/state/home/.local/share" \
  "$CS" --user-data-dir "$OUT/state/user-data" --extensions-dir "$OUT/state/extensions" \
  --install-extension "$VSIX" >"$OUT/install.log" 2>&1 || { cat "$OUT/install.log"; exit 1; }
CS_PID=$(PORT=$PORT STATE="$OUT/state" "$HERE/start-code-server.sh")
KUBECTL="$KUBE_BIN/kubectl --kubeconfig $KUBECONFIG_FILE" node "$HERE/reports-ui.mjs" "http://127.0.0.1:$PORT" "$OUT/workspace" "$SHOTS" "$OUT/ready.json"
