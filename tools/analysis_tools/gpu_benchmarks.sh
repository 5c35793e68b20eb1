#!/usr/bin/env bash
# The GPU figures of docs/benchmarks.md, in phases that each fit one device call:
#   bash tools/analysis_tools/gpu_benchmarks.sh OUT_DIR [eager] [optimised] [compile] [slide]
# (no phase: all four). Every run writes OUT_DIR/<phase>_<model>.{json,md}; a model that fails
# (out of memory, say) is logged in OUT_DIR/<phase>.log and the others still run.
#   eager      fp32, eager, the paper configs as they are: the "before" column; and a profile of
#              one ISTE prediction (profile_predict.py), as in the optimised phase
#   optimised  bf16 autocast (AmpOptimWrapper when training), activation checkpointing for the
#              HAT-size networks, a query chunk of 2^18 and STF query blocks of 8192
#   compile    the optimised settings plus torch.compile, for LIIF and ISTE
#   slide      ISTE x4 whole-slide SR of 1024^2, 2048^2 and 4096^2 LR regions (to 16384^2), bf16
# Shapes are those of the issue's reference table: training batch 16 of 48x48 LR (2304 queries),
# x4 inference of a 256x256 LR image (SIZES, PROFILE_SIZE and REGIONS override them, e.g. for a
# CPU smoke test). Weights are random (speed does not depend on them). The device tool brings back
# at most 8 files: pack OUT_DIR (tar) into $OUT there.
set -uo pipefail
OUT=${1:?usage: bash $0 OUT_DIR [eager] [optimised] [compile] [slide]}
shift
PHASES=${*:-eager optimised compile slide}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
SIZES=${SIZES:---batch 16 --lr-size 48 --infer-size 256 --warmup 3 --repeats 10}
BENCH="python tools/analysis_tools/benchmark.py $SIZES --scale 4 --random-init-extractor"

LIIF=configs/liif/liif-edsr-baseline_tma_x1-4.py
LTE=configs/lte/lte-swinir_tma_x1-4.py
ISTE=configs/iste/iste-swinir_tma_x1-4.py
HAT=configs/hat/hat_histo_x4.py
MIHATP=configs/mihatp/mihatp_coad_x4.py
IMPLICIT_FAST="model.eval_chunk=262144"
ISTE_FAST="$IMPLICIT_FAST model.head.stf_query_block=8192"
CP="model.generator.with_cp=True"

# profile PHASE [profile_predict.py options]: where one ISTE x4 prediction of 256x256 spends its time
profile() {
    local phase=$1
    shift
    python tools/analysis_tools/profile_predict.py "$ISTE" --random-init --lr-size "${PROFILE_SIZE:-256}" --scale 4 \
        --out-md "$OUT/${phase}_profile_ISTE-SwinIR.md" "$@" >> "$OUT/$phase.log" 2>&1 \
        || echo "FAILED: $phase profile (see $phase.log)" | tee -a "$OUT/$phase.log"
}

# run PHASE NAME CONFIG [benchmark.py options]
run() {
    local phase=$1 name=$2 config=$3
    shift 3
    echo "== $phase $name $(date -u +%FT%TZ)" | tee -a "$OUT/$phase.log"
    $BENCH "$config" --names "$name" --out-json "$OUT/${phase}_$name.json" \
        --out-md "$OUT/${phase}_$name.md" "$@" >> "$OUT/$phase.log" 2>&1 \
        || echo "FAILED: $phase $name (see $phase.log)" | tee -a "$OUT/$phase.log"
}

for phase in $PHASES; do
    case $phase in
        eager)
            run eager LIIF-EDSR "$LIIF"
            run eager LTE-SwinIR "$LTE"
            run eager ISTE-SwinIR "$ISTE"
            run eager HAT "$HAT"
            run eager MiHATP "$MIHATP"
            profile eager ;;
        optimised)
            run optimised LIIF-EDSR "$LIIF" --amp --cfg-options $IMPLICIT_FAST
            run optimised LTE-SwinIR "$LTE" --amp --cfg-options $IMPLICIT_FAST
            run optimised ISTE-SwinIR "$ISTE" --amp --cfg-options $ISTE_FAST
            run optimised HAT "$HAT" --amp --cfg-options $CP
            run optimised MiHATP "$MIHATP" --amp --cfg-options $CP
            profile optimised --amp --cfg-options $ISTE_FAST ;;
        compile)
            run compile LIIF-EDSR "$LIIF" --amp --compile --cfg-options $IMPLICIT_FAST
            run compile ISTE-SwinIR "$ISTE" --amp --compile --cfg-options $ISTE_FAST ;;
        slide)
            echo "== slide ISTE-SwinIR $(date -u +%FT%TZ)" | tee -a "$OUT/slide.log"
            python tools/analysis_tools/slide_benchmark.py "$ISTE" --random-init \
                --regions ${REGIONS:-1024 2048 4096} --scale 4 --amp --tile 1024 \
                --cfg-options $ISTE_FAST --out-json "$OUT/slide_ISTE-SwinIR.json" \
                2>&1 | tee -a "$OUT/slide.log" \
                || echo "FAILED: slide (see slide.log)" | tee -a "$OUT/slide.log" ;;
        *)
            echo "unknown phase $phase (eager, optimised, compile, slide)" >&2
            exit 2 ;;
    esac
done
