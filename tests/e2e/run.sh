#!/usr/bin/env bash
# Browser tests of the web client. Needs Node (>= 18), Debian's chromium, and a built server:
# PAPOTE_BIN, else target/release/papote, else target/debug/papote.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages, installed when missing and we may (root with apt).
need_packages=()
command -v node >/dev/null 2>&1 || need_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || need_packages+=(npm)
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || need_packages+=(chromium)
if [ "${#need_packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_packages[@]}" >/dev/null
  else
    echo "run.sh: missing ${need_packages[*]} (apt-get install ${need_packages[*]})" >&2
    exit 1
  fi
fi
export CHROMIUM

# playwright-core (it never downloads a browser) and axe-core, at the versions of the lock file.
if [ ! -d node_modules/playwright-core ] || [ ! -f node_modules/axe-core/axe.min.js ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

# Every spec, one file at a time (each starts its own server and browser); non-zero on failure.
node --test --test-reporter=spec --test-concurrency=1 i18n.test.mjs chat.spec.mjs a11y.spec.mjs console.spec.mjs
