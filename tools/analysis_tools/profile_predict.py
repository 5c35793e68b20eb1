"""Where the time of one ``predict`` goes, by operator (``torch.profiler``).

    python tools/analysis_tools/profile_predict.py CONFIG \
        (--checkpoint FILE | --random-init) [--lr-size 48] [--scale 4] \
        [--eval-chunk N] [--amp] [--device cuda] [--rows 20] \
        [--trace FILE.json] [--out-md FILE] [--cfg-options KEY=VALUE ...]

One warm-up ``test_step`` (data preprocessor and ``predict``) of a random
``--lr-size`` square LR image at x``--scale``, then one profiled. The table
lists the operators by their own time (on the GPU: CUDA kernel time; else
CPU time), and a summary splits it into matrix work (matrix products,
convolutions, attention) and the rest (element-wise, copies, gathers,
reductions: memory-bound work that bf16 halves and ``torch.compile``
fuses). ``--trace`` writes a Chrome trace (chrome://tracing, Perfetto).
"""
import argparse
import sys
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from pathsr.apis.tiled_inference import resolve_out_shape  # noqa: E402
from pathsr.utils import autocast_context, load_config  # noqa: E402
from pathsr.utils.benchmark import (add_weights_args,  # noqa: E402
                                    build_measured_model, device_name,
                                    parse_weights_args,
                                    random_predict_batch, synchronize)

#: aten operators counted as matrix work
MATRIX_OPS = ('aten::mm', 'aten::bmm', 'aten::addmm', 'aten::baddbmm',
              'aten::matmul', 'aten::linear', 'aten::convolution',
              'aten::_convolution', 'aten::cudnn_convolution',
              'aten::mkldnn_convolution', 'aten::conv2d',
              'aten::_scaled_dot_product_flash_attention',
              'aten::_scaled_dot_product_efficient_attention',
              'aten::_scaled_dot_product_cudnn_attention',
              'aten::_scaled_dot_product_flash_attention_for_cpu')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    add_weights_args(parser)
    parser.add_argument('--lr-size', type=int, default=48)
    parser.add_argument('--scale', type=float, default=4.0)
    parser.add_argument('--eval-chunk', type=int,
                        help="override an implicit model's eval_chunk")
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--rows', type=int, default=20,
                        help='operators in the table')
    parser.add_argument('--trace', help='Chrome trace file to write')
    parser.add_argument('--out-md', help='Markdown file for the tables')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parse_weights_args(parser)
    if not args.scale > 1 or args.lr_size < 1 or args.rows < 1:
        parser.error('--scale must be > 1, --lr-size and --rows >= 1')
    return args


def self_times(events, on_gpu: bool) -> Dict[str, float]:
    """Seconds of own time per operator name."""
    times = {}
    for event in events:
        us = event.self_device_time_total if on_gpu else \
            event.self_cpu_time_total
        if us > 0:
            times[event.key] = times.get(event.key, 0.) + us / 1e6
    return times


def summary(times: Dict[str, float], rows: int) -> List[str]:
    """Markdown: the top operators, then matrix work against the rest."""
    total = sum(times.values())
    ranked = sorted(times.items(), key=lambda item: -item[1])
    lines = ['| operator | own time | share |', '|---|---|---|']
    lines += [f'| `{name}` | {seconds * 1e3:.1f} ms | '
              f'{100 * seconds / total:.1f} % |'
              for name, seconds in ranked[:rows]]
    matrix = sum(t for name, t in times.items() if name in MATRIX_OPS)
    lines += [
        '', '| matrix work | other operators | total |', '|---|---|---|',
        f'| {matrix * 1e3:.1f} ms ({100 * matrix / total:.0f} %) | '
        f'{(total - matrix) * 1e3:.1f} ms ({100 * (1 - matrix / total):.0f}'
        f' %) | {total * 1e3:.1f} ms |'
    ]
    return lines


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    model = build_measured_model(
        load_config(args.config, args.cfg_options), args.checkpoint,
        args.random_init, device)
    if args.eval_chunk and hasattr(model, 'eval_chunk'):
        model.eval_chunk = args.eval_chunk
    side = args.lr_size
    out_shape = resolve_out_shape(model, (side, side), args.scale)

    def run() -> None:
        data = random_predict_batch(side, args.scale, out_shape, device)
        with torch.no_grad(), autocast_context(device, args.amp):
            model.test_step(data)
        synchronize(device)

    run()  # warm-up
    on_gpu = device.type == 'cuda'
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if on_gpu else [])
    with profile(activities=activities) as prof:
        run()
    if args.trace:
        prof.export_chrome_trace(args.trace)
    lines = [
        f'Profile of one predict: {args.config}, {side}x{side} LR -> '
        f'{out_shape[0]}x{out_shape[1]} (x{args.scale:g}), '
        f'{"bf16 autocast" if args.amp else "float32"}, eval_chunk '
        f'{getattr(model, "eval_chunk", None)}; {device_name(device)}; '
        f'own {"CUDA kernel" if on_gpu else "CPU"} time per operator.', ''
    ] + summary(self_times(prof.key_averages(), on_gpu), args.rows)
    text = '\n'.join(lines) + '\n'
    if args.out_md:
        Path(args.out_md).write_text(text)
    print(text)


if __name__ == '__main__':
    main()
