#!/usr/bin/env bash
# Inference on a Slurm cluster, one task per GPU:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_infer.sh PARTITION JOB_NAME [infer.py arguments]
# e.g. GPUS=16 bash tools/slurm_infer.sh gpu sr CONFIG CKPT slides/ --whole-slide --mpp 0.125 --out sr/
# The ranks share the inputs, or the tiles of one slide, and --out must be on a filesystem that
# all nodes see (docs/distributed.md).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash $0 PARTITION JOB_NAME CONFIG [CHECKPOINT] INPUT --out OUT [options]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" infer.py "${@:3}"
