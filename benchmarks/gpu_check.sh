#!/usr/bin/env bash
# The GPU check (issue 13): install skgen with JAX's CUDA build and run
# benchmarks/gpu_check.py, which prints one line per figure (about 2 minutes on
# an H200; it must stay under 8). SKGEN_GPU_CHECK_CPU=1 runs the same steps on
# the CPU in the current environment (no install), a dry run for machines
# without a GPU.
#   bash benchmarks/gpu_check.sh [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKGEN_GPU_CHECK_CPU:-0}" != "1" ]; then
    python3 -m venv .gpu-venv
    source .gpu-venv/bin/activate
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet ".[cuda]"
    python -c "import jax; print('jax', jax.__version__, jax.devices())"
fi
exec timeout 480 python -m benchmarks.gpu_check "$@"
