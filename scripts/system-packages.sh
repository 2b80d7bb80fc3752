#!/usr/bin/env bash
# System packages the tests and the chat UI's browser tests use: PostgreSQL 15 (conversation
# store, model registry), Chromium + chromedriver (browser tests), Prometheus (monitoring tests).
# Idempotent: installs only what is missing. Needs root (or passwordless sudo) and Debian/Ubuntu.
set -euo pipefail

declare -A probe=(
  [postgresql]=/usr/lib/postgresql/15/bin/initdb
  [chromium]=/usr/bin/chromium
  [chromium-driver]=/usr/bin/chromedriver
  [prometheus]=/usr/bin/prometheus
)
missing=()
for package in postgresql chromium chromium-driver prometheus; do
  [[ -e "${probe[$package]}" ]] || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system packages: all present (postgresql, chromium, chromium-driver, prometheus)"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "system packages missing: ${missing[*]}; no apt-get here: install them with your" \
       "system's package manager (PostgreSQL 15 binaries in /usr/lib/postgresql/15/bin)" >&2
  exit 1
fi
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "system packages missing: ${missing[*]}; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# the server the tests start is their own: keep the package's default cluster from running
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null; then
  "${sudo[@]}" pg_ctlcluster 15 main stop 2>/dev/null || true
fi
