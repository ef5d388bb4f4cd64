#!/usr/bin/env bash
# Render a report in headless Chromium and save a full-page screenshot, to look at it
# as a user would:  scripts/screenshot_report.sh pluralist-demo/report/report.html out.png
set -euo pipefail
report=$(realpath "$1"); out=${2:-report.png}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1200,4200 \
  --screenshot="$(realpath -m "$out")" "file://$report" 2>/dev/null
echo "$out"
