#!/usr/bin/env bash
# The OpenID provider the identity tests start on localhost: panva's oidc-provider (npm, OpenID
# certified) at the version tests/support/oidc/package-lock.json pins, installed into
# tests/support/oidc/node_modules (git-ignored) when missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/../tests/support/oidc"
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "error: npm is missing (scripts/system-packages.sh installs it)" >&2; exit 1; }
echo ">> installing the test OpenID provider (npm ci in tests/support/oidc)"
npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
