#!/usr/bin/env bash
# Screenshot the page served by `pluralist serve` after a few answers, to look at it as
# a person would: trains a small model (hashing:32), serves it with a pool on a free
# 127.0.0.1 port, answers in headless Chromium, writes the PNG.
#   scripts/screenshot_page.sh [out.png] [answers=5] [width=1200]   (width 390: a phone)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-page.png}")
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" python scripts/screenshot_page.py "$out" "${2:-5}" "${3:-1200}"
