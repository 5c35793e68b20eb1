"""Utilities; imported lazily, so that a light module (``pathsr.utils.cli``
for a tool's one-line errors) does not pull in torch and mmengine's runner."""
import importlib
from typing import Any

_SOURCES = {
    'autocast_context': 'amp',
    'float32_region': 'amp',
    'upcast': 'amp',
    'allow_mmengine_globals': 'checkpoint_compat',
    'from_plain': 'checkpoint_compat',
    'to_plain': 'checkpoint_compat',
    'enable_amp': 'config',
    'load_config': 'config',
    'set_data_root': 'config',
    'setup_cpu_distributed': 'dist',
    'teardown_distributed': 'dist',
    'register_all_modules': 'setup_env',
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{_SOURCES[name]}', __name__),
                    name)
    globals()[name] = value
    return value
