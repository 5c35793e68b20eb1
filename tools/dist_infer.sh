#!/usr/bin/env bash
# Distributed inference with torchrun: bash tools/dist_infer.sh GPUS [infer.py arguments]
# e.g. bash tools/dist_infer.sh 4 CONFIG CKPT slide.svs --whole-slide --mpp 0.125 --out sr.tiff
# The ranks share the inputs, or the tiles of one slide (docs/distributed.md); --out must be on a
# filesystem that all of them see. Several machines: run it on each with NNODES, NODE_RANK,
# MASTER_ADDR and PORT set. Without CUDA the processes run on the CPU (gloo).
set -euo pipefail
GPUS=$1
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$ROOT/tools/infer.py" "${@:2}" --launcher pytorch
