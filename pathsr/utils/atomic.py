"""Atomic file output: write under a temporary name, rename when complete."""
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Union

PathLike = Union[str, Path]


@contextmanager
def atomic_path(path: PathLike,
                partial: Optional[PathLike] = None) -> Iterator[Path]:
    """Yield the temporary path to write instead of ``path``.

    When the block ends normally the temporary file replaces ``path``
    (``os.replace``, atomic on one filesystem); when it raises (a full disk,
    a kill signal turned into ``KeyboardInterrupt``) the temporary file is
    removed and the exception goes on, so ``path`` never holds a partial
    file and a previous ``path`` stays intact.

    Args:
        path: The final file.
        partial: The temporary file, in the folder of ``path``; default
            ``<path>.tmp``.
    """
    path = Path(path)
    partial = Path(partial) if partial is not None else path.with_name(
        path.name + '.tmp')
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
