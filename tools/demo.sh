#!/usr/bin/env bash
# The built-in demo: train a small EDSR x4 on the H&E crops in demo/histo_demo,
# evaluate it and Bicubic with tools/test.py, and print both results.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=${WORK_DIR:-work_dirs/demo}
CONFIG=configs/edsr/edsr-tiny_demo_x4.py

python tools/train.py "$CONFIG" --work-dir "$WORK/edsr-tiny"
python tools/test.py "$CONFIG" "$(cat "$WORK/edsr-tiny/last_checkpoint")" \
    --work-dir "$WORK/edsr-tiny-test" --out "$WORK/edsr-tiny.json"
python tools/test.py configs/bicubic/bicubic_histo_x4.py \
    --cfg-options data_root=demo/histo_demo \
    --work-dir "$WORK/bicubic-test" --out "$WORK/bicubic.json"

python - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
print('\nx4 on demo/histo_demo/val (RGB, border 4 px cropped)')
print(f"{'model':<12}{'PSNR (dB)':>12}{'SSIM':>10}")
for name in ('bicubic', 'edsr-tiny'):
    m = json.load(open(f'{work}/{name}.json'))['metrics']
    print(f"{name:<12}{m['PSNR']:>12.3f}{m['SSIM']:>10.4f}")
PY
