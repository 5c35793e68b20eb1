"""Throughput and peak memory of whole-slide SR at growing region sizes.

    python tools/analysis_tools/slide_benchmark.py CONFIG --random-init \
        --regions 1024 2048 4096 --scale 4 [--checkpoint FILE] [--amp] \
        [--compile] [--tile 1024] [--batch-size 4] [--slide FILE] \
        [--cfg-options model.eval_chunk=262144] [--out-json FILE]

Each region (an LR square of the given side, read at level 0) is
super-resolved by :func:`~pathsr.apis.super_resolve_slide` into a pyramidal
BigTIFF, every tile computed (``tissue=False``), as ``pathsr-infer`` does
for a slide. Without ``--slide`` a synthetic 40x slide of the largest side
is built from the demo crops (``tools/dataset_converters/make_demo_slide.py``).
Per region: wall time, output megapixels/s, and the peak memory of the run
(:func:`pathsr.utils.benchmark.peak_memory`: ``max_memory_allocated`` on
CUDA, weights included; on the CPU the growth of the peak RSS over what was
resident before the region). Bounded memory shows as the same peak for
every region size. The weights do not change speed or memory, so a randomly
initialised model is allowed, but only with ``--random-init``.
"""
import argparse
import datetime
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from pathsr.apis import super_resolve_slide  # noqa: E402
from pathsr.utils import load_config  # noqa: E402
from pathsr.utils.benchmark import (add_weights_args,  # noqa: E402
                                    build_measured_model, device_name,
                                    memory_method, parse_weights_args,
                                    peak_memory, synchronize)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    add_weights_args(parser)
    parser.add_argument(
        '--regions',
        type=int,
        nargs='+',
        default=[1024, 2048, 4096],
        help='LR sides of the square regions')
    parser.add_argument('--scale', type=float, default=4.0)
    parser.add_argument('--slide', help='slide file (default: synthetic)')
    parser.add_argument('--tile', type=int, default=1024,
                        help='output TIFF tile side')
    parser.add_argument('--halo', type=int, help='LR halo of the tiles')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument(
        '--compile', action='store_true', help='compile the networks')
    parser.add_argument('--device', default=None)
    parser.add_argument('--out-json', help='JSON file for the figures')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parse_weights_args(parser)


def synthetic_slide(folder: Path, side: int) -> Path:
    """A pyramidal TIFF of ``side`` x ``side`` made from the demo crops."""
    spec = importlib.util.spec_from_file_location(
        'make_demo_slide', ROOT / 'tools/dataset_converters/make_demo_slide.py')
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    path = folder / 'synthetic.tiff'
    demo.write_pyramid(str(path), demo.make_demo_image((side, side), seed=0))
    return path


def run_region(model: torch.nn.Module, slide: Path, side: int,
               args: argparse.Namespace, out_dir: Path,
               device: torch.device) -> dict:
    """Super-resolve the top-left ``side`` x ``side`` region once."""
    out = out_dir / f'region_{side}.tif'
    with peak_memory(device) as memory:
        synchronize(device)
        start = time.perf_counter()
        result = super_resolve_slide(
            model, slide, out, scale=args.scale, region=(0, 0, side, side),
            tile=args.tile, halo=args.halo, batch_size=args.batch_size,
            amp=args.amp, tissue=False, overwrite=True)
        synchronize(device)
        seconds = time.perf_counter() - start
    height, width = result.out_shape
    out.unlink()
    return dict(
        lr_side=side,
        out_shape=[height, width],
        seconds=seconds,
        out_mp_per_s=height * width / seconds / 1e6,
        peak_mib=memory['bytes'] / 2**20)


def main() -> None:
    args = parse_args()
    if not Path(args.config).is_file():
        raise SystemExit(f'config file {args.config} does not exist')
    if not args.scale > 1:
        raise SystemExit(f'--scale must be > 1, got {args.scale}')
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    model = build_measured_model(
        load_config(args.config, args.cfg_options), args.checkpoint,
        args.random_init, device)
    if args.compile:
        model.compile_networks()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        slide = Path(args.slide) if args.slide else synthetic_slide(
            tmp, max(args.regions))
        # warm-up (kernels, compilation) on the smallest region
        run_region(model, slide, min(args.regions), args, tmp, device)
        rows = [
            run_region(model, slide, side, args, tmp, device)
            for side in args.regions
        ]
    report = dict(
        config=args.config,
        command=' '.join(sys.argv),
        date=datetime.date.today().isoformat(),
        device=device_name(device),
        torch=torch.__version__,
        memory=memory_method(device),
        amp=args.amp,
        compile=args.compile,
        scale=args.scale,
        tile=args.tile,
        regions=rows)
    print('| LR region -> output | time | output MP/s | peak memory |')
    print('|---|---|---|---|')
    for row in rows:
        h, w = row['out_shape']
        print(f"| {row['lr_side']}^2 -> {h}x{w} | {row['seconds']:.1f} s | "
              f"{row['out_mp_per_s']:.3g} | {row['peak_mib']:.0f} MiB |")
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
