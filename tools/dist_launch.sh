#!/usr/bin/env bash
# torchrun, one process per GPU, of a pathsr tool with --launcher pytorch; the dist_*.sh scripts call it:
#   bash tools/dist_launch.sh GPUS TOOL [tool arguments]      (TOOL: train.py, test.py, infer.py)
# Several machines: run it on each with NNODES, NODE_RANK, MASTER_ADDR and PORT set.
# Without CUDA the processes use the gloo backend on the CPU.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash $0 GPUS TOOL [tool arguments]" >&2
    exit 2
fi
GPUS=$1
TOOL=$2
shift 2
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
    "$ROOT/tools/$TOOL" --launcher pytorch "$@"
