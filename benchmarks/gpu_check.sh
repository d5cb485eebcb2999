#!/usr/bin/env bash
# The GPU check (issue 13): run benchmarks/gpu_check.py, which prints one line per
# figure (about 2 minutes on an H200; it must stay under 8).
#   bash benchmarks/gpu_check.sh [--out FILE]
# - Where python3's JAX already sees a GPU (a machine with a CUDA image and no
#   network), the repository is used in place (PYTHONPATH) with what is installed.
# - Else skgen is installed with JAX's CUDA build (".[cuda]") in .gpu-venv.
# - SKGEN_GPU_CHECK_CPU=1 runs the same steps on the CPU in the current
#   environment, a dry run for machines without a GPU (the tests do).
# The binarized MNIST is read from shared/data in the checkout or ../shared/data
# beside it (copy shared/data/binarized_mnist into the checkout to carry it to a
# device machine); without it the figures are on scikit-learn's digits.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
data_home=../shared/data
[ -d shared/data/binarized_mnist ] && data_home=shared/data
if [ "${SKGEN_GPU_CHECK_CPU:-0}" = "1" ]; then
    python=python
elif python3 -c "import jax, sys; sys.exit(0 if jax.devices('gpu') else 1)" 2>/dev/null; then
    echo "using the installed JAX, which sees a GPU"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    python=python3
else
    python3 -m venv .gpu-venv
    source .gpu-venv/bin/activate
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet ".[cuda]"
    python=python
fi
"$python" -c "import jax; print('jax', jax.__version__, jax.devices())"
exec timeout 480 "$python" -m benchmarks.gpu_check --data-home "$data_home" "$@"
