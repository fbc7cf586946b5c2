#!/usr/bin/env bash
# One prepared script for a lent GPU machine: bash benchmarks/gpu_check.sh [--compile] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" benchmarks/gpu_check.py "$@"
