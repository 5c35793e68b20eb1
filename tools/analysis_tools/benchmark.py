"""Speed, memory, parameters and FLOPs of pathsr models, one row per config.

    python tools/analysis_tools/benchmark.py CONFIG [CONFIG ...] \
        [--names NAME ...] [--modes train infer] [--device cuda] \
        [--batch 16] [--lr-size 48] [--train-scale 4] \
        [--scale 4] [--infer-size 256] [--eval-chunk N] \
        [--warmup 3] [--repeats 10] [--amp] [--compile] \
        [--compile-mode max-autotune] [--channels-last] \
        [--random-init-extractor] [--peak-tflops T] \
        [--out-json FILE] [--out-md FILE] [--cfg-options KEY=VALUE ...]

Two phases per config, each timed as the median of ``--repeats``
iterations after ``--warmup`` (on CUDA with ``torch.cuda.synchronize``
before and after each timed iteration):

- **train**: the runner's ``model.train_step(data, optim_wrapper)`` (data
  preprocessor, forward with all losses, backward, optimizer step) on one
  synthetic batch already on the device, so no data loading is timed:
  ``--batch`` random uint8 HR patches and their LR (``--lr-size`` square,
  area downsampling). A fixed-scale model (SRCNN, EDSR, SwinIR, HAT,
  MiHATP...) gets HR patches of ``lr-size x`` its scale; an implicit model
  (LIIF, LTE, ISTE) HR patches of ``round(lr-size x --train-scale)`` from
  which it draws its ``num_queries`` query pixels. Models without trainable
  parameters (Bicubic) skip it. ``--amp`` trains with mmengine's
  ``AmpOptimWrapper`` (bfloat16, float16 with dynamic loss scaling where
  bfloat16 is unsupported), which exists on CUDA only.
- **infer**: ``model.test_step`` (the runner's ``predict``) of one
  ``--infer-size`` square LR image at x``--scale`` (a fixed-scale model
  must be asked for its own scale), reported as output megapixels/s.
  ``--amp`` runs it under bf16 autocast (CPU or CUDA).

Peak memory is ``torch.cuda.max_memory_allocated`` on CUDA (reset before
each phase: weights, optimizer state and activations), and on the CPU the
growth of the process's peak resident memory (``ru_maxrss``) during the
phase: freed heap memory is first returned to the system (glibc's
``malloc_trim``) and the kernel's peak counter reset
(``/proc/self/clear_refs``, Linux), so that the growth is what the phase
adds to what was resident before it; where the counter cannot be reset the
growth is a lower bound. The output says which.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one
eager iteration (forward and backward of a training step; the forward of
one ``predict``): it intercepts the aten operators (convolutions, matrix
products, attention) as they really execute. mmengine's ``FlopAnalyzer``
traces the model with ``torch.jit`` instead, which fails on the heads'
Python control flow (ISTE's tile loop and ``.tolist()``, the chunked
``predict`` loop). Interpolation, normalisation and element-wise operators
are not counted. The achieved TFLOP/s (FLOPs / median time) is given as a
fraction of ``--peak-tflops``, by default measured once per run as the
median time of a large matmul (bf16 8192 x 8192 on CUDA, fp32 2048 x 2048
on the CPU).

Weights do not change speed, so models are randomly initialised; the
VGG19 of MiHATP's contrastive loss needs its ImageNet weights (not
downloaded), or ``--random-init-extractor`` to measure with a random one
(the cost is the same). The results go to ``--out-json`` (every figure,
the settings and the command line) and, as Markdown tables, to stdout and
``--out-md``. A phase that runs out of device memory is reported as
skipped, with the error, and the other phases and configs still run.
"""
import argparse
import contextlib
import datetime
import functools
import gc
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.optim import OptimWrapper, build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from pathsr.apis.tiled_inference import (model_kind,  # noqa: E402
                                         resolve_out_shape)
from pathsr.registry import MODELS  # noqa: E402
from pathsr.structures import SRDataSample, output_shape  # noqa: E402
from pathsr.utils import (autocast_context, enable_amp,  # noqa: E402
                          load_config)
from pathsr.utils.benchmark import (count_flops, device_name,  # noqa: E402
                                    memory_method, peak_memory,
                                    random_predict_batch, time_iterations)

GB = 1e9


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', metavar='CONFIG')
    parser.add_argument(
        '--names', nargs='+', help='row names (default: config file stems)')
    parser.add_argument(
        '--modes',
        nargs='+',
        choices=('train', 'infer'),
        default=['train', 'infer'],
        help='phases to measure')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument(
        '--lr-size', type=int, default=48, help='LR side of training patches')
    parser.add_argument(
        '--train-scale',
        type=float,
        default=4.0,
        help='HR / LR of the training patches of implicit models')
    parser.add_argument(
        '--scale', type=float, default=4.0, help='inference scale')
    parser.add_argument(
        '--infer-size', type=int, default=256, help='LR side at inference')
    parser.add_argument(
        '--eval-chunk',
        type=int,
        help="override an implicit model's eval_chunk (queries per call)")
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: AmpOptimWrapper (CUDA) / bf16 autocast')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the networks (model.compile_networks)')
    parser.add_argument('--compile-mode', help='torch.compile mode')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='model and inputs in torch.channels_last')
    parser.add_argument(
        '--random-init-extractor',
        action='store_true',
        help='build the loss feature extractor randomly initialised')
    parser.add_argument(
        '--peak-tflops',
        type=float,
        help='peak of the device (default: measured with a large matmul)')
    parser.add_argument('--out-json', help='JSON file for every figure')
    parser.add_argument('--out-md', help='Markdown file for the tables')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys of every config, e.g. '
        'model.eval_chunk=10000')
    args = parser.parse_args()
    missing = [path for path in args.configs if not Path(path).is_file()]
    if missing:
        parser.error(f'config file not found: {", ".join(missing)}')
    if args.names and len(args.names) != len(args.configs):
        parser.error(f'--names gives {len(args.names)} names for '
                     f'{len(args.configs)} configs')
    if not math.isfinite(args.scale) or args.scale <= 1:
        parser.error(f'--scale must be a finite number > 1, got {args.scale}')
    if not math.isfinite(args.train_scale) or args.train_scale < 1:
        parser.error(
            f'--train-scale must be a finite number >= 1, got '
            f'{args.train_scale}')
    for option in ('batch', 'lr_size', 'infer_size', 'repeats'):
        if getattr(args, option) < 1:
            parser.error(f'--{option.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, option)}')
    if args.warmup < 0 or (args.eval_chunk is not None
                           and args.eval_chunk < 1):
        parser.error('--warmup must be >= 0 and --eval-chunk >= 1')
    if args.peak_tflops is not None and args.peak_tflops <= 0:
        parser.error(f'--peak-tflops must be > 0, got {args.peak_tflops}')
    if torch.device(args.device).type == 'cuda' \
            and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: CUDA is not available')
    if args.compile_mode and not args.compile:
        parser.error('--compile-mode needs --compile')
    return args


# --------------------------------------------------------------- measuring


def measure_peak_tflops(device: torch.device, warmup: int,
                        repeats: int) -> Tuple[float, str]:
    """TFLOP/s of a large square matmul (median time) and its description:
    bf16 8192 x 8192 on CUDA, fp32 2048 x 2048 on the CPU."""
    size, dtype = (8192, torch.bfloat16) if device.type == 'cuda' else (
        2048, torch.float32)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    _, times, _ = time_iterations(lambda: a @ b, warmup, repeats, device)
    tflops = 2 * size**3 / statistics.median(times) / 1e12
    name = str(dtype).replace('torch.', '')
    return tflops, (f'measured: median of {repeats} {name} {size}x{size} '
                    'matmuls')


# ---------------------------------------------------------------- the model


def load_config_for(path: str, args: argparse.Namespace) -> Config:
    """The config with ``--cfg-options`` (and ``--random-init-extractor``)
    applied."""
    cfg = load_config(path, args.cfg_options)
    extractor = cfg.model.get('contrastive_loss', {}).get('extractor')
    if args.random_init_extractor and extractor:
        extractor.random_init = True
    return cfg


def build_model(cfg: Config, args: argparse.Namespace,
                device: torch.device) -> nn.Module:
    """The config's model on ``device`` (channels last with
    ``--channels-last``: its weights, and through a hook the batches of its
    data preprocessor)."""
    model = MODELS.build(cfg.model).to(device)
    if args.eval_chunk and hasattr(model, 'eval_chunk'):
        model.eval_chunk = args.eval_chunk
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
        model.data_preprocessor.register_forward_hook(
            lambda module, inputs, out: dict(
                out,
                inputs=out['inputs'].contiguous(
                    memory_format=torch.channels_last)))
    return model


def parameter_counts(model: nn.Module) -> Dict[str, int]:
    params = list(model.parameters())
    return dict(
        params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad))


def min_input_side(model: nn.Module) -> int:
    """The smallest LR side the networks accept: their attention window
    (SwinIR, HAT pad to it by reflection), 1 for convolutional ones."""
    sizes = [
        m.window_size for m in model.modules()
        if isinstance(getattr(m, 'window_size', None), int)
    ]
    return max(sizes, default=1)


def check_side(model: nn.Module, side: int, option: str,
               config: str) -> None:
    window = min_input_side(model)
    if side < window:
        raise SystemExit(
            f'{config}: {option} {side} is smaller than the {window}-pixel '
            'attention window of the network; use at least '
            f'{option} {window}')


def make_optim_wrapper(model: nn.Module, cfg: Config,
                       args: argparse.Namespace, device: torch.device,
                       config: str) -> OptimWrapper:
    """The config's optimizer wrapper; with ``--amp`` mmengine's
    ``AmpOptimWrapper`` (:func:`~pathsr.utils.enable_amp`: bf16, fp16 with
    dynamic loss scaling where the GPU lacks bf16), which runs on CUDA
    only."""
    if 'optim_wrapper' not in cfg:
        raise SystemExit(f'{config} has no optim_wrapper to train with')
    if args.amp:
        if device.type != 'cuda':
            raise SystemExit(
                f'--amp training on {device}: mmengine\'s AmpOptimWrapper '
                'only runs on CUDA (and NPU/MLU/MUSA) devices; benchmark '
                'training on the CPU without --amp, or use --modes infer')
        try:
            enable_amp(cfg)
        except ValueError as error:
            raise SystemExit(f'{config}: {error}')
    return build_optim_wrapper(model, cfg.optim_wrapper)


def make_train_batch(model: nn.Module, kind: str, args: argparse.Namespace,
                     device: torch.device,
                     config: str) -> Tuple[dict, Dict[str, int]]:
    """A batch as the training pipeline packs it (uint8 LR images, data
    samples with ``gt_img`` and metainfo) on ``device``, and its sizes."""
    lr = args.lr_size
    check_side(model, lr, '--lr-size', config)
    sizes = dict(batch=args.batch, lr_size=lr)
    if kind == 'implicit':
        hr = round(lr * args.train_scale)
        sizes.update(
            train_scale=args.train_scale, num_queries=model.num_queries)
        if hr * hr < model.num_queries:
            raise SystemExit(
                f'{config}: --lr-size {lr} at --train-scale '
                f'{args.train_scale:g} gives {hr}x{hr} HR patches, fewer '
                f'pixels than the model\'s num_queries={model.num_queries}')
    else:
        hr = lr * model.generator.upscale_factor
        sizes.update(train_scale=model.generator.upscale_factor)
    sizes.update(hr_size=hr)
    gt = torch.randint(
        0, 256, (args.batch, 3, hr, hr), dtype=torch.uint8, device=device)
    lr_imgs = F.interpolate(gt.float(), size=(lr, lr),
                            mode='area').round().byte()
    samples = [
        SRDataSample(
            gt_img=img,
            metainfo=dict(
                scale=hr / lr, lr_shape=(lr, lr), out_shape=(hr, hr)))
        for img in gt
    ]
    return dict(inputs=list(lr_imgs), data_samples=samples), sizes


def make_infer_batch(model: nn.Module, args: argparse.Namespace,
                     device: torch.device,
                     config: str) -> Tuple[dict, Dict[str, object]]:
    """One LR image and its data sample with the metainfo ``predict``
    reads (``lr_shape``, ``scale``, ``out_shape``), and its sizes."""
    side = args.infer_size
    check_side(model, side, '--infer-size', config)
    try:
        out_shape = resolve_out_shape(model, (side, side), args.scale)
    except ValueError as error:
        raise SystemExit(f'{config}: {error}')
    sizes = dict(
        lr_shape=[side, side],
        scale=args.scale,
        out_shape=list(out_shape),
        eval_chunk=getattr(model, 'eval_chunk', None))
    return random_predict_batch(side, args.scale, out_shape, device), sizes


# ------------------------------------------------------------------ phases


@torch.no_grad()
def run_predict(model: nn.Module, data: dict,
                autocast: contextlib.AbstractContextManager
                ) -> List[SRDataSample]:
    """The runner's test step: data preprocessor and ``predict``."""
    with autocast:
        return model.test_step(data)


def run_phase(fn: Callable, flops: int, args: argparse.Namespace,
              device: torch.device, peak_tflops: float) -> dict:
    """Time ``fn`` and record its peak memory; the figures every phase
    has, and ``fn``'s last result under ``'result'``."""
    with peak_memory(device) as memory:
        warmup, times, result = time_iterations(fn, args.warmup,
                                                args.repeats, device)
    seconds = statistics.median(times)
    tflops = flops / seconds / 1e12
    return dict(
        seconds=seconds,
        times_s=times,
        warmup_times_s=warmup,
        peak_memory_bytes=memory['bytes'],
        flops=flops,
        tflops_per_s=tflops,
        fraction_of_peak=tflops / peak_tflops,
        result=result)


def benchmark(config: str, name: str, args: argparse.Namespace,
              device: torch.device, peak_tflops: float) -> dict:
    """Every figure of one config."""
    cfg = load_config_for(config, args)
    model = build_model(cfg, args, device)
    kind = model_kind(model)
    row = dict(
        config=config, name=name, model=type(model).__name__, kind=kind,
        **parameter_counts(model))
    phases = {}
    if 'train' in args.modes and row['trainable_params'] > 0:
        optim_wrapper = make_optim_wrapper(model, cfg, args, device, config)
        data, sizes = make_train_batch(model, kind, args, device, config)
        step = functools.partial(model.train_step, data, optim_wrapper)
        phases['train'] = (True, step, sizes)
    elif 'train' in args.modes:
        row.update(train=None, train_skipped='no trainable parameters')
    if 'infer' in args.modes:
        data, sizes = make_infer_batch(model, args, device, config)
        predict = functools.partial(run_predict, model, data,
                                    autocast_context(device, args.amp))
        phases['infer'] = (False, predict, sizes)
    flops = {}
    for phase, (training, fn, _) in phases.items():
        model.train(training)
        with skip_when_out_of_memory(row, phase, device):
            flops[phase] = count_flops(fn)  # eager, before any compiling
    if args.compile:
        model.compile_networks(
            **({'mode': args.compile_mode} if args.compile_mode else {}))
    for phase, (training, fn, sizes) in phases.items():
        if phase not in flops:
            continue
        model.train(training)
        with skip_when_out_of_memory(row, phase, device):
            figures = run_phase(fn, flops[phase], args, device, peak_tflops)
            result = figures.pop('result')
            if training:
                figures.update(
                    iters_per_s=1 / figures['seconds'],
                    samples_per_s=args.batch / figures['seconds'],
                    loss=result['loss'].item())
            else:
                height, width = sizes['out_shape']
                figures.update(output_mp_per_s=height * width /
                               figures['seconds'] / 1e6)
            row[phase] = dict(sizes, **figures)
    return row


@contextlib.contextmanager
def skip_when_out_of_memory(row: dict, phase: str,
                            device: torch.device) -> Iterator[None]:
    """Record ``phase`` as skipped when it runs out of device memory, so
    that the other phases and configs are still measured."""
    try:
        yield
    except torch.OutOfMemoryError as error:
        row[phase] = None
        row[f'{phase}_skipped'] = 'out of memory: ' + str(error).split(
            '. ')[0]
        gc.collect()
        if device.type == 'cuda':
            torch.cuda.empty_cache()


# ------------------------------------------------------------------ report


def sig3(value: float) -> str:
    """``value`` with 3 significant digits, without exponent."""
    if value == 0 or not math.isfinite(value):
        return f'{value:g}'
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f'{value:.{decimals}f}'


def fmt_flops(flops: float) -> str:
    for unit, size in (('P', 1e15), ('T', 1e12), ('G', 1e9), ('M', 1e6)):
        if flops >= size:
            return f'{sig3(flops / size)} {unit}FLOP'
    return f'{flops:.0f} FLOP'


def fmt_params(row: dict) -> str:
    text = f'{sig3(row["trainable_params"] / 1e6)} M'
    frozen = row['params'] - row['trainable_params']
    return text + (f' (+{sig3(frozen / 1e6)} M frozen)' if frozen else '')


def shared_queries(rows: List[dict]) -> Optional[int]:
    """The ``num_queries`` of the implicit models trained, if they share
    one."""
    queries = {
        row['train']['num_queries']
        for row in rows if row.get('train') and 'num_queries' in row['train']
    }
    return queries.pop() if len(queries) == 1 else None


def headers(rows: List[dict], args: argparse.Namespace) -> List[str]:
    """Column titles with the settings of the run."""
    titles = []
    if 'train' in args.modes:
        queries = shared_queries(rows)
        titles.append(f'train step, batch {args.batch}, {args.lr_size}x'
                      f'{args.lr_size} LR' +
                      (f', {queries} queries' if queries else ''))
    if 'infer' in args.modes:
        side = args.infer_size
        height, width = output_shape((side, side), args.scale)
        titles.append(f'x{args.scale:g} inference, {side}x{side} LR -> '
                      f'{height}x{width}')
    return titles


def speed_cell(row: dict, phase: str, queries: Optional[int]) -> str:
    """``time (samples/s), memory`` or ``MP/s, memory``; the number of
    queries when it is not the one in the column title."""
    figures = row.get(phase)
    if figures is None:
        return f'- ({row.get(f"{phase}_skipped", "not run")})'
    memory = f'{sig3(figures["peak_memory_bytes"] / GB)} GB'
    if phase == 'infer':
        return f'{sig3(figures["output_mp_per_s"])} output MP/s, {memory}'
    text = (f'{sig3(figures["seconds"] * 1e3)} ms '
            f'({sig3(figures["samples_per_s"])} samples/s)')
    if figures.get('num_queries', queries) != queries:
        text += f' [{figures["num_queries"]} queries]'
    return f'{text}, {memory}'


def flops_cells(row: dict, phase: str) -> List[str]:
    figures = row.get(phase)
    if figures is None:
        return ['-'] * 3
    return [
        fmt_flops(figures['flops']),
        sig3(figures['tflops_per_s']),
        f'{sig3(100 * figures["fraction_of_peak"])} %'
    ]


def table(head: List[str], body: List[List[str]]) -> List[str]:
    return ['| ' + ' | '.join(head) + ' |',
            '|' + '---|' * len(head)] + [
                '| ' + ' | '.join(cells) + ' |' for cells in body
            ]


def markdown(report: dict, args: argparse.Namespace) -> str:
    rows, settings = report['results'], report['settings']
    phases = [phase for phase in ('train', 'infer') if phase in args.modes]
    queries = shared_queries(rows)
    lines = table(
        ['model'] + headers(rows, args),
        [[row['name']] + [speed_cell(row, p, queries) for p in phases]
         for row in rows])
    flops_head = ['model', 'params (trainable)']
    for phase in phases:
        what = 'train step' if phase == 'train' else 'inference'
        flops_head += [f'FLOPs / {what}', f'{what} TFLOP/s', '% of peak']
    lines += [''] + table(
        flops_head,
        [[row['name'], fmt_params(row)] +
         [cell for p in phases for cell in flops_cells(row, p)]
         for row in rows])
    lines += [
        '',
        f'Device: {settings["device_name"]} ({settings["device"]}), torch '
        f'{settings["torch"]}, {settings["dtype"]}, '
        f'{settings["compile"] or "eager"}, '
        f'{"channels last" if settings["channels_last"] else "contiguous"}'
        f'; median of {args.repeats} iterations after {args.warmup} '
        f'warm-up; {settings["date"]}.'
    ]
    if 'train' in phases:
        lines.append(
            'Training batches: random uint8 HR patches and their LR (area '
            'downsampling); HR side = LR side x the scale of a fixed-scale '
            f'model, or round(LR side x {args.train_scale:g}) for an '
            'implicit model, which draws its queries from them.')
    lines += [
        f'Peak: {sig3(settings["peak_tflops"])} TFLOP/s '
        f'({settings["peak_tflops_source"]}).',
        f'Memory: {settings["memory"]}.',
        'FLOPs: torch.utils.flop_counter.FlopCounterMode on one eager '
        'iteration (train: forward + backward; inference: one predict).',
    ]
    return '\n'.join(lines) + '\n'


def run_settings(args: argparse.Namespace, device: torch.device,
                 peak: Tuple[float, str]) -> dict:
    dtype = 'float32'
    if args.amp:  # the dtype of inference's autocast and of enable_amp
        dtype = str(autocast_context(device, True).fast_dtype)
        dtype = f'{dtype.replace("torch.", "")} mixed precision'
    compile_mode = args.compile_mode or 'default'
    return dict(
        device=str(device),
        device_name=device_name(device),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        dtype=dtype,
        amp=args.amp,
        compile=f'torch.compile ({compile_mode})' if args.compile else None,
        channels_last=args.channels_last,
        modes=args.modes,
        batch=args.batch,
        lr_size=args.lr_size,
        train_scale=args.train_scale,
        scale=args.scale,
        infer_size=args.infer_size,
        eval_chunk=args.eval_chunk,
        warmup=args.warmup,
        repeats=args.repeats,
        peak_tflops=peak[0],
        peak_tflops_source=peak[1],
        memory=memory_method(device),
        cfg_options=args.cfg_options or {},
        date=datetime.datetime.now(
            datetime.timezone.utc).isoformat(timespec='seconds'),
        command=sys.argv)


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    init_default_scope('pathsr')
    peak = (args.peak_tflops, 'given with --peak-tflops') \
        if args.peak_tflops is not None else measure_peak_tflops(
            device, args.warmup, args.repeats)
    report = dict(settings=run_settings(args, device, peak), results=[])
    names = args.names or [Path(path).stem for path in args.configs]
    for config, name in zip(args.configs, names):
        report['results'].append(
            benchmark(config, name, args, device, peak[0]))
        gc.collect()
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    text = markdown(report, args)
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(report, indent=2))
    if args.out_md:
        Path(args.out_md).write_text(text)
    print(text)


if __name__ == '__main__':
    main()
