#!/usr/bin/env bash
# Installs a real VS Code for the end-to-end tests, offline except for npm and apt:
# code-server 4.100.3 (VS Code 1.100.3 with a Node extension host; newer ones need Node 22)
# and Debian's chromium driven by playwright-core. Idempotent; ~60 s the first time.
set -euo pipefail
E2E_HOME=${KS_E2E_HOME:-$HOME/.cache/kyverno-studio-e2e}
CODE_SERVER_VERSION=4.100.3
# @vscode/ripgrep (pinned by code-server 4.100.3) downloads rg from GitHub in postinstall;
# seeding its cache with Debian's rg makes it use that instead.
RIPGREP_PKG_VERSION=1.15.11
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

need_apt=()
for cmd in chromium rg make g++ pkg-config; do command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$cmd"); done
[ -f /usr/include/krb5.h ] || [ -f /usr/include/krb5/krb5.h ] || need_apt+=(krb5)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    chromium fonts-liberation ripgrep build-essential python3 pkg-config libkrb5-dev
fi

CS="$E2E_HOME/code-server/node_modules/.bin/code-server"
if [ ! -x "$CS" ] || ! "$CS" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION"; then
  mkdir -p "$E2E_HOME/tmp/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION" "$E2E_HOME/rgstage" "$E2E_HOME/code-server"
  cp "$(command -v rg)" "$E2E_HOME/rgstage/rg"
  tar czf "$E2E_HOME/tmp/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION/$RIPGREP_ASSET" -C "$E2E_HOME/rgstage" rg
  cd "$E2E_HOME/code-server"
  [ -f package.json ] || echo '{"name":"code-server-host","private":true}' > package.json
  # unsafe_perm: its postinstall refuses root otherwise; yes: node-pty's postinstall runs npx.
  TMPDIR="$E2E_HOME/tmp" npm_config_unsafe_perm=true npm_config_yes=true \
    npm install --foreground-scripts --no-audit --no-fund "code-server@$CODE_SERVER_VERSION"
fi
"$CS" --version | head -1
