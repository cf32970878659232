#!/usr/bin/env bash
# Browser tests of the web client. Needs Node (>= 18), Debian's chromium, and a built server:
# PAPOTE_BIN, else target/release/papote, else target/debug/papote.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1; then
  echo "run.sh: node is required" >&2
  exit 1
fi
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  else
    echo "run.sh: $CHROMIUM is missing (apt-get install chromium)" >&2
    exit 1
  fi
fi
export CHROMIUM

# playwright-core only: it never downloads a browser.
if [ ! -d node_modules/playwright-core ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

node --test --test-reporter=spec chat.spec.mjs
