#!/usr/bin/env bash
# Train the paper's deep net (or, with ARCH=vgg, the VGG-style net and its recipe) to the end on a GPU machine in one
# call, and bring the trained model back.
#
#     bash benchmarks/gpu_train.sh [FER2013_FILE]          ARCH=vgg bash benchmarks/gpu_train.sh
#
# Meant for the device tool: command "bash benchmarks/gpu_train.sh", carry [".carry"], timeout_s 600, after
# `mkdir -p .carry && cp ../shared/data/fer2013_train_public.npz.xz .carry/`. Like gpu_check.sh it installs
# nothing (the checkout goes first on PYTHONPATH). FER2013 comes from $1, else $MINICNN_DATA, else
# .carry/fer2013_train_public.npz.xz: Training and PublicTest, all that training and picking the best epoch need.
# PrivateTest is not in that file; score the model on it afterwards, once, on a machine that has the full CSV:
#     python examples/evaluate.py --model <files_at>/model_float16.npz --data ../shared/data/fer2013.csv.gz
#
# The run (the README's main job, examples/train_deep.py with the paper's recipe, on --device gpu) keeps its
# checkpoints in $RUNS_DIR (default /tmp/minicnn_runs), outside $OUT: a deep-net checkpoint (72 MB) is larger than
# what the device tool brings back. TRAIN_TIMEOUT (default 540 s) stops the training with SIGTERM, which ends the
# running step and keeps the last epoch's checkpoint; a second call on the same (still warm) machine continues it
# with --resume. EPOCHS sets the epochs (default: the recipe's, 35 for deep, 50 for vgg). Into $OUT (default ./gpu_run) go the log, history.json, config.json,
# the plots and, once training has finished, report.json and model_float16.npz: the best model stored in float16
# (9 MB; the float32 file, 18 MB, is over the tool's size limit), loadable like any minicnn model. TRAIN_ARGS adds
# options to train_deep.py (a later --device wins): `TRAIN_ARGS="--subset 256" EPOCHS=1 bash benchmarks/gpu_train.sh`
# is the short mode, which tries the whole script in a minute or two, on a GPU or, with the CuPy stand-in of the tests
# first on PYTHONPATH (PYTHONPATH=tests/fake_cupy), on a CPU machine.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
PYTHON=${PYTHON:-python3}
DATA=${1:-${MINICNN_DATA:-.carry/fer2013_train_public.npz.xz}}
RUNS_DIR=${RUNS_DIR:-/tmp/minicnn_runs}
OUT=${OUT:-gpu_run}
ARCH=${ARCH:-deep}
RUN="$RUNS_DIR/$ARCH"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export MINICNN_CACHE=${MINICNN_CACHE:-/tmp/minicnn_cache}   # the parsed-data cache stays out of the repository
mkdir -p "$OUT"

train() {
    local resume=()
    [ -e "$RUN/checkpoint.npz" ] && resume=(--resume)
    echo "minicnn GPU training, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit" \
        "$(git rev-parse --short HEAD 2>/dev/null || echo 'unknown'), data $DATA, ${resume[*]:-a new run}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi failed"
    local epochs=()
    [ -n "${EPOCHS:-}" ] && epochs=(--epochs "$EPOCHS")
    timeout --signal=TERM --kill-after=30 "${TRAIN_TIMEOUT:-540}" "$PYTHON" examples/train_deep.py --device gpu \
        --arch "$ARCH" --data "$DATA" --runs-dir "$RUNS_DIR" --no-progress "${epochs[@]}" "${resume[@]}" ${TRAIN_ARGS:-}
}

bring_back() {
    local status=$1
    cp "$RUN"/{history.json,config.json,loss.png,accuracy.png,report.json,confusion_val.png} "$OUT"/ 2>/dev/null
    if [ "$status" -eq 0 ] && [ -e "$RUN/model.npz" ]; then
        "$PYTHON" -c 'import sys; from minicnn import models; models.load(sys.argv[1]).save(sys.argv[2], dtype="float16")' \
            "$RUN/model.npz" "$OUT/model_float16.npz" && echo "model: $OUT/model_float16.npz"
    else
        echo "training did not finish (exit status $status): no model yet; run this script again on the same" \
             "machine to resume from $RUN/checkpoint.npz"
    fi
}

train 2>&1 | tee "$OUT/gpu_train.log"
status=${PIPESTATUS[0]}
bring_back "$status" 2>&1 | tee -a "$OUT/gpu_train.log"
exit "$status"
