"""The start-up of a distributed job is bounded: a missing rank is named
after PATHSR_DIST_INIT_TIMEOUT seconds instead of a wait of 30 min (train,
test) or 24 h (inference)."""
import socket
import threading
import time

import pytest

from pathsr.apis.distributed import init_inference_dist
from pathsr.utils.dist import rendezvous, rendezvous_timeout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(('127.0.0.1', port)) == 0


@pytest.fixture
def torchrun_env(monkeypatch):
    """torchrun's variables for rank ``rank`` of 2 on a free local port."""

    def set_env(rank: int) -> str:
        port = str(_free_port())
        for name, value in dict(
                RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                MASTER_ADDR='127.0.0.1', MASTER_PORT=port).items():
            monkeypatch.setenv(name, value)
        return port

    return set_env


def test_rank_0_alone_names_the_missing_rank_within_the_timeout(
        torchrun_env):
    port = torchrun_env(0)
    start = time.monotonic()
    with pytest.raises(RuntimeError) as error:
        rendezvous(timeout=1)
    assert time.monotonic() - start < 10
    assert str(error.value) == (
        f'rank 0: 1 of WORLD_SIZE=2 ranks joined at 127.0.0.1:{port} within '
        '1 s; missing ranks: 1. Start them all (torchrun --nproc-per-node, '
        'srun -n) or correct WORLD_SIZE (wait longer with '
        'PATHSR_DIST_INIT_TIMEOUT=SECONDS)')


def test_inference_start_up_is_bounded_by_the_environment(
        torchrun_env, monkeypatch):
    """The inference launcher used to wait 24 h for the missing rank."""
    torchrun_env(0)
    monkeypatch.setenv('PATHSR_DIST_INIT_TIMEOUT', '1')
    start = time.monotonic()
    with pytest.raises(RuntimeError, match='missing ranks: 1'):
        init_inference_dist('pytorch')
    assert time.monotonic() - start < 10


def test_rank_without_rank_0_names_the_address(torchrun_env):
    port = torchrun_env(1)
    with pytest.raises(RuntimeError, match=f'rank 1 of WORLD_SIZE=2 could '
                       f'not reach rank 0 at MASTER_ADDR:MASTER_PORT='
                       f'127.0.0.1:{port} within 1 s'):
        rendezvous(timeout=1)


def test_all_ranks_meet(torchrun_env, monkeypatch):
    port = int(torchrun_env(0))
    stores = {}
    rank_0 = threading.Thread(
        target=lambda: stores.update({0: rendezvous(timeout=20)}))
    rank_0.start()
    # rank 0 read RANK once its store listens; this thread is rank 1
    deadline = time.monotonic() + 20
    while not _listening(port):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    monkeypatch.setenv('RANK', '1')
    stores[1] = rendezvous(timeout=20)
    rank_0.join(20)
    assert set(stores) == {0, 1}
    assert stores[1].get('pathsr/rank/0') == socket.gethostname().encode()


@pytest.mark.parametrize('value', ['0', '-5', 'soon'])
def test_bad_timeout_value_is_named(monkeypatch, value):
    monkeypatch.setenv('PATHSR_DIST_INIT_TIMEOUT', value)
    with pytest.raises(ValueError,
                       match=f"PATHSR_DIST_INIT_TIMEOUT='{value}'"):
        rendezvous_timeout()
