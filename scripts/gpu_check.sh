#!/usr/bin/env bash
# The GPU check (scripts/gpu_check.py) on a machine with a CUDA GPU: installs pluralist with
# the machine's torch if none is there, then writes bench/results/gpu_check.json (and a copy
# to $OUT when set, for a lent machine whose $OUT comes back).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import pluralist" 2>/dev/null; then
    python3 -m pip install -q -e .
fi
python3 scripts/gpu_check.py "$@"
if [ -n "${OUT:-}" ]; then cp bench/results/gpu_check.json "$OUT/"; fi
