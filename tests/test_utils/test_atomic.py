"""atomic_path: the final file appears only complete, and an earlier one
survives a failed write."""
import pytest

from pathsr.utils.atomic import atomic_path


def test_complete_write_replaces_the_file(tmp_path):
    path = tmp_path / 'out.bin'
    path.write_bytes(b'old')
    with atomic_path(path) as partial:
        assert partial == tmp_path / 'out.bin.tmp'
        partial.write_bytes(b'new')
        assert path.read_bytes() == b'old'  # not yet replaced
    assert path.read_bytes() == b'new'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out.bin']


@pytest.mark.parametrize('error', [OSError(28, 'No space left on device'),
                                   KeyboardInterrupt()])
def test_failed_write_keeps_the_old_file_and_leaves_no_partial(
        tmp_path, error):
    path = tmp_path / 'out.bin'
    path.write_bytes(b'old')
    with pytest.raises(type(error)):
        with atomic_path(path, tmp_path / '.out.partial.bin') as partial:
            partial.write_bytes(b'half')
            raise error
    assert path.read_bytes() == b'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out.bin']
