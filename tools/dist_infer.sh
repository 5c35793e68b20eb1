#!/usr/bin/env bash
# Distributed inference with torchrun: bash tools/dist_infer.sh GPUS [infer.py arguments]
# e.g. bash tools/dist_infer.sh 4 CONFIG CKPT slide.svs --whole-slide --mpp 0.125 --out sr.tiff
# The ranks share the inputs, or the tiles of one slide (docs/distributed.md); --out must be on a
# filesystem that all of them see. Several machines: run it on each with NNODES, NODE_RANK,
# MASTER_ADDR and PORT set (tools/dist_launch.sh). Without CUDA the processes run on the CPU.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: bash $0 GPUS CONFIG [CHECKPOINT] INPUT --out OUT [infer.py options]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist_launch.sh" "$1" infer.py "${@:2}"
