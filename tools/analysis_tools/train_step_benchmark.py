"""Time and peak memory of a fixed-scale model's training iteration.

    python tools/analysis_tools/train_step_benchmark.py CONFIG \
        [--batch 8] [--hr-size 192] [--iters 5] [--warmup 2] \
        [--device cuda] [--amp] [--random-init-extractor] [--out FILE]

One iteration is the runner's ``model.train_step`` (data preprocessor,
forward with all losses, backward, Adam step) on a batch of random uint8 HR
patches with LR made by average pooling, so no data loading is timed. The
time is the mean of ``--iters`` iterations after ``--warmup``; the peak is
``torch.cuda.max_memory_allocated`` over the timed iterations on CUDA, the
whole process's peak resident memory (``ru_maxrss``, weights, Python and
libraries included) on the CPU. Models whose loss needs a frozen
VGG19 (MiHATP) need its weights, or ``--random-init-extractor`` to measure
with a randomly initialised one (the cost is the same).
"""
import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from pathsr.registry import MODELS  # noqa: E402
from pathsr.structures import SRDataSample  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--hr-size', type=int, default=192)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--amp', action='store_true', help='bf16 autocast (CUDA)')
    parser.add_argument(
        '--random-init-extractor',
        action='store_true',
        help='build the loss feature extractor randomly initialised')
    parser.add_argument('--out', help='JSON file for the figures')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def peak_bytes(device: str) -> int:
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_batch(batch: int, hr_size: int, scale: int) -> dict:
    gt = torch.randint(0, 256, (batch, 3, hr_size, hr_size),
                       dtype=torch.uint8)
    lr = F.avg_pool2d(gt.float(), scale).round().byte()
    samples = [SRDataSample(gt_img=img) for img in gt]
    return dict(inputs=list(lr), data_samples=samples)


def main() -> None:
    args = parse_args()
    init_default_scope('pathsr')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    extractor = cfg.model.get('contrastive_loss', {}).get('extractor')
    if args.random_init_extractor and extractor:
        extractor.random_init = True
    model = MODELS.build(cfg.model).to(args.device).train()
    optim_cfg = dict(cfg.optim_wrapper)
    optim_cfg.pop('type', None)
    optim_wrapper = build_optim_wrapper(
        model,
        dict(optim_cfg, type='AmpOptimWrapper', dtype='bfloat16')
        if args.amp else dict(optim_cfg, type='OptimWrapper'))
    scale = model.generator.upscale_factor
    data = make_batch(args.batch, args.hr_size, scale)

    def step() -> None:
        model.train_step(data, optim_wrapper)
        if args.device.startswith('cuda'):
            torch.cuda.synchronize(args.device)

    for _ in range(args.warmup):
        step()
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats(args.device)
    start = time.perf_counter()
    for _ in range(args.iters):
        step()
    seconds = (time.perf_counter() - start) / args.iters
    params = sum(p.numel() for p in model.parameters())
    report = dict(
        config=args.config,
        cfg_options=args.cfg_options or {},
        device=args.device,
        device_name=torch.cuda.get_device_name(args.device)
        if args.device.startswith('cuda') else 'cpu',
        amp=args.amp,
        batch=args.batch,
        hr_size=args.hr_size,
        scale=scale,
        parameters=params,
        seconds_per_iter=round(seconds, 3),
        peak_mib=round(peak_bytes(args.device) / 2**20, 1))
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
