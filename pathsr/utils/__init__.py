from .amp import autocast_context, float32_region, upcast
from .checkpoint_compat import allow_mmengine_globals, from_plain, to_plain
from .config import enable_amp, load_config, set_data_root
from .dist import setup_cpu_distributed, teardown_distributed
from .setup_env import register_all_modules

__all__ = [
    'allow_mmengine_globals', 'autocast_context', 'enable_amp',
    'float32_region', 'upcast', 'from_plain', 'load_config',
    'to_plain',
    'register_all_modules', 'set_data_root', 'setup_cpu_distributed',
    'teardown_distributed'
]
