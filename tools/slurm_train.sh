#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU:
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]
# WORK_DIR (default: train.py's work_dirs/<config name>) is the fourth argument unless it starts
# with "-". The variables are those of tools/slurm_launch.sh.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]" >&2
    exit 2
fi
ARGS=("$1" "$2" train.py "$3")
shift 3
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
    ARGS+=(--work-dir "$1")
    shift
fi
exec bash "$(dirname "$0")/slurm_launch.sh" "${ARGS[@]}" "$@"
