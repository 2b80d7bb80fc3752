#!/usr/bin/env bash
# The Debian packages the test suite runs for real: PostgreSQL 15 (registry and conversation
# stores), Chromium + ChromeDriver (browser tests), Prometheus + promtool (metrics and alert rules),
# tesseract with its Russian and English data (OCR of scans), catdoc (legacy .doc), DejaVu fonts
# (the tests render Russian pages to images).
# Node.js + npm (the OpenID provider of the identity tests, scripts/oidc-provider.sh).
# Installs only what is missing; needs root (or passwordless sudo) and apt-get.
set -euo pipefail
declare -A probe=(
  [postgresql]=/usr/lib/postgresql/15/bin/initdb
  [chromium]=/usr/bin/chromium
  [chromium-driver]=/usr/bin/chromedriver
  [prometheus]=/usr/bin/promtool
  [tesseract-ocr]=/usr/bin/tesseract
  [tesseract-ocr-rus]=/usr/share/tesseract-ocr/5/tessdata/rus.traineddata
  [tesseract-ocr-eng]=/usr/share/tesseract-ocr/5/tessdata/eng.traineddata
  [catdoc]=/usr/bin/catdoc
  [fonts-dejavu-core]=/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf
  [nodejs]=/usr/bin/node
  [npm]=/usr/bin/npm
)
missing=()
for package in "${!probe[@]}"; do
  [ -e "${probe[$package]}" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
if ! command -v apt-get >/dev/null || { [ -n "$sudo" ] && ! sudo -n true 2>/dev/null; }; then
  echo "error: missing system packages: ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo ">> installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
