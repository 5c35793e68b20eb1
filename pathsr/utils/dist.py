"""Distributed set-up that also works on machines without CUDA."""
import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` for a launch with no GPU (gloo backend, CPU DDP).

    mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and its
    DDP wrapper passes ``device_ids=[LOCAL_RANK]``; both fail without CUDA.
    When CUDA is absent and a launcher is used, this initialises the gloo
    process group from torchrun's environment (mmengine then skips its own
    initialisation), selects gloo in ``env_cfg`` and wraps the model in DDP
    with ``device_ids=None``. With CUDA it does nothing.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ValueError(f'launcher {launcher!r} needs CUDA; without a GPU '
                         'use --launcher pytorch (tools/dist_train.sh)')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def teardown_distributed() -> None:
    """Destroy the process group, if any, before the interpreter exits.

    Left to interpreter shutdown, a gloo group may be torn down while its
    worker threads still run, which aborts the process ("terminate called
    without an active exception") after a successful run.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
