#!/usr/bin/env bash
# Inference on a Slurm cluster, one task per GPU:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_infer.sh PARTITION JOB_NAME [infer.py arguments]
# e.g. GPUS=16 bash tools/slurm_infer.sh gpu sr CONFIG CKPT slides/ --whole-slide --mpp 0.125 --out sr/
# Each task runs tools/infer.py with --launcher slurm: the ranks share the inputs, or the tiles
# of one slide, and --out must be on a filesystem that all nodes see (docs/distributed.md).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash $0 PARTITION JOB_NAME CONFIG [CHECKPOINT] INPUT --out OUT [options]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
shift 2
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
TASKS_PER_NODE=$((GPUS < GPUS_PER_NODE ? GPUS : GPUS_PER_NODE))
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# SRUN_ARGS is split into words on purpose: it holds several srun options
# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$TASKS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$TASKS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    python -u "$ROOT/tools/infer.py" "$@" --launcher slurm
