#!/usr/bin/env bash
# One prepared check of minicnn on a GPU machine: the GPU tests, then the GPU benchmarks, then a summary table.
#
#     bash benchmarks/gpu_check.sh [FER2013_FILE]
#
# Run it from the repository root. It installs nothing: the checkout goes first on PYTHONPATH and imports as the
# installed package does (minicnn/kernels and minicnn/solver are links to kernels/ and solver/), and only NumPy, CuPy
# and PyTorch are counted on (Numba, pandas, scikit-image and tqdm may be missing; the versions step says which are,
# and where minicnn was imported from).
# FER2013 comes from $1, else $MINICNN_DATA, else .carry/fer2013_train_public.npz.xz; without it the training test
# skips and the epoch benchmark fails, and the other steps still run. Every step has its own time limit, a failed
# step does not stop the next one, and the exit status is the number of failed steps. With $OUT set, everything
# printed is also written to $OUT/gpu_check.log.
#
# Time limits in seconds, each overridable from the environment: VERSIONS_TIMEOUT (30), NVCC_TIMEOUT (45),
# TESTS_TIMEOUT (200), TRAIN_TIMEOUT (90), EPOCH_TIMEOUT (150): under 9 minutes even if every step ran to its limit.
# EPOCHS (2) sets how many epochs bench_epoch.py times; PYTHON (python3) the interpreter.
#
# QUICK=1 shrinks the steps to seconds (the dropout tests of test_gpu_kernels.py, two training steps of the shallow net
# at batch 8, two epochs of 32 images): it tries the script itself, on a GPU or on the CuPy stand-in of the tests
# (PYTHONPATH=tests/fake_cupy), and its figures mean nothing.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
export PYTHON=${PYTHON:-python3}
DATA=${1:-${MINICNN_DATA:-.carry/fer2013_train_public.npz.xz}}
EPOCHS=${EPOCHS:-2}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export MINICNN_DATA="$DATA"
export MINICNN_CACHE=${MINICNN_CACHE:-/tmp/minicnn_cache}   # the parsed-data cache stays out of the repository
if [ -n "${QUICK:-}" ]; then
    GPU_TESTS=(tests/test_gpu_kernels.py -k dropout)
    TRAIN_STEP=(--nets shallow --batch 8 --steps 2)
    EPOCH=(--net shallow --batch 16 --epochs 2 --subset 32 --val-subset 32)
else
    GPU_TESTS=()
    TRAIN_STEP=(--nets shallow deep --batch 128 --steps 10)
    EPOCH=(--net deep --batch 128 --epochs "$EPOCHS")
fi
STEP_LOGS=$(mktemp -d)
STEPS=()
STATUS=()
SECONDS_TAKEN=()

# run_step NAME TIMEOUT COMMAND...: run COMMAND under `timeout`, print its output, and note how it ended.
run_step() {
    local name=$1 limit=$2
    shift 2
    # `timeout` runs programs, not shell functions: a step that is a function of this script runs in a child bash.
    if [ "$(type -t "$1")" = function ]; then
        export -f "$1"
        set -- bash -c "$1"
    fi
    local log="$STEP_LOGS/${#STEPS[@]}.log" started=$SECONDS status
    echo
    echo "=== $name (limit ${limit} s): $*"
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    case $status in
        0) STATUS+=("ok") ;;
        124 | 137) STATUS+=("TIMED OUT") ;;
        *) STATUS+=("FAILED ($status)") ;;
    esac
    STEPS+=("$name")
    SECONDS_TAKEN+=($((SECONDS - started)))
    echo "=== $name: ${STATUS[-1]} after ${SECONDS_TAKEN[-1]} s"
}

# result_of INDEX: the lines of a step's output that the summary shows.
result_of() {
    local log="$STEP_LOGS/$1.log"
    case ${STEPS[$1]} in
        versions) grep -E '^(python|numpy|cupy|torch|numba|GPU) ' "$log" | paste -sd ';' - ;;
        "GPU tests" | "nvcc compile") grep -E '(passed|failed|skipped|error|no tests ran)' "$log" | tail -n 1 ;;
        "training step"*)  # the Markdown rows as "net, minicnn img/s, ...; shallow, 1234.5, ...", without pipes
            grep -E '^\| (net|shallow|deep) ' "$log" | sed -E 's/^\| +//; s/ +\|$//; s/ +\| +/, /g' \
                | paste -sd ';' - ;;
        "one epoch"*) grep -E '^Steady epoch' "$log" ;;
    esac
}

versions() {
    nvidia-smi || echo "nvidia-smi failed"
    "$PYTHON" - <<'PYTHON_END'
import importlib
import platform
import sys

print("python", platform.python_version(), sys.executable)
for name in ("numpy", "cupy", "torch", "numba", "pandas", "skimage", "tqdm", "pytest", "matplotlib"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "(no version)"))
    except Exception as error:  # a missing package, or one that refuses this numpy (Numba does that)
        print(name, "NOT IMPORTABLE:", f"{type(error).__name__}: {error}")
try:
    import cupy
    properties = cupy.cuda.runtime.getDeviceProperties(0)
    name = properties["name"]
    name = name.decode() if isinstance(name, bytes) else name
    print("GPU", name, f"{properties['totalGlobalMem'] / 2 ** 30:.0f} GiB,", "CUDA runtime",
          cupy.cuda.runtime.runtimeGetVersion(), "driver", cupy.cuda.runtime.driverGetVersion())
except Exception as error:
    print("GPU NOT USABLE from cupy:", f"{type(error).__name__}: {error}")
try:
    import torch
    print("torch CUDA", torch.version.cuda, "available", torch.cuda.is_available(), "cuDNN",
          torch.backends.cudnn.version())
except Exception as error:
    print("torch CUDA NOT USABLE:", f"{type(error).__name__}: {error}")
import minicnn.layers, minicnn.models  # noqa: E401,F401  (the GPU path must import without the optional libraries)
import minicnn.kernels.gpu
print("minicnn from", minicnn.__file__, "and its kernels from", minicnn.kernels.gpu.__file__)
print("imported by minicnn.layers and minicnn.models:",
      [name for name in ("numba", "pandas", "skimage", "tqdm", "matplotlib") if name in sys.modules] or "none of "
      "numba, pandas, skimage, tqdm, matplotlib")
from minicnn.backend import gpu_available
print("minicnn.backend.gpu_available():", gpu_available())
PYTHON_END
}

main() {
    echo "minicnn GPU check, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit" \
        "$(git rev-parse --short HEAD 2>/dev/null || echo 'unknown')"
    echo "data: $DATA$( [ -e "$DATA" ] || echo ' (MISSING: the training test skips, the epoch benchmark fails)')"
    run_step versions "${VERSIONS_TIMEOUT:-30}" versions
    run_step "nvcc compile" "${NVCC_TIMEOUT:-45}" "$PYTHON" -m pytest -q -p no:cacheprovider \
        tests/test_cuda_source.py -k nvcc
    # A test file that cannot be collected here (a library missing) must not stop the GPU tests of the others.
    run_step "GPU tests" "${TESTS_TIMEOUT:-200}" "$PYTHON" -m pytest -m gpu -q -rs -p no:cacheprovider \
        --continue-on-collection-errors "${GPU_TESTS[@]}"
    run_step "training step" "${TRAIN_TIMEOUT:-90}" "$PYTHON" benchmarks/bench_train.py --device gpu "${TRAIN_STEP[@]}"
    run_step "one epoch" "${EPOCH_TIMEOUT:-150}" "$PYTHON" benchmarks/bench_epoch.py --device gpu "${EPOCH[@]}" \
        --data "$DATA"

    local failed=0 index
    echo
    echo "=== Summary"
    echo "| step | status | seconds | result |"
    echo "| :--- | :----- | ------: | :----- |"
    for index in "${!STEPS[@]}"; do
        [ "${STATUS[$index]}" = ok ] || failed=$((failed + 1))
        local result
        result=$(result_of "$index" | paste -sd ' ' - | tr -s ' ')
        echo "| ${STEPS[$index]} | ${STATUS[$index]} | ${SECONDS_TAKEN[$index]} | ${result:--} |"
    done
    echo
    if [ "$failed" -eq 0 ]; then
        echo "All ${#STEPS[@]} steps passed."
    else
        echo "$failed of ${#STEPS[@]} steps did not pass: see the === lines above."
    fi
    rm -rf "$STEP_LOGS"
    return "$failed"
}

if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    main 2>&1 | tee "$OUT/gpu_check.log"
    exit "${PIPESTATUS[0]}"
fi
main
