"""Named sizes ("arch") of the backbones."""
from typing import Dict, Optional


def resolve_arch(name: str, table: Dict[str, dict], arch: Optional[str],
                 **overrides) -> dict:
    """The settings of ``table[arch]`` with every non-None override applied.

    With ``arch=None`` every setting must be given as an override.

    Args:
        name: The backbone's name, for error messages.
        table: Named settings, e.g. ``{'baseline': dict(num_blocks=16)}``.
        arch: A key of ``table`` or None.
        overrides: Settings given explicitly (None = not given).
    """
    if arch is not None and arch not in table:
        raise ValueError(
            f'{name} arch must be one of {sorted(table)}, got {arch!r}')
    settings = dict(table[arch]) if arch is not None else {}
    for key, value in overrides.items():
        if value is not None:
            settings[key] = value
        elif key not in settings:
            raise ValueError(f'{name} with arch=None needs {key}')
    return settings
