from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from pathsr.utils import allow_mmengine_globals, from_plain, to_plain


def _message_hub_like():
    buffer = HistoryBuffer(max_length=50)
    for value, count in [(1.5, 1), (2.0, 2), (0.25, 4)]:
        buffer.update(value, count)
    return dict(
        log_scalars=OrderedDict(loss=buffer),
        runtime_info=dict(iter=np.int64(7), lr=np.float32(0.5),
                          table=np.arange(6).reshape(2, 3)),
        resumed_keys={'loss': True})


def test_plain_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(to_plain(_message_hub_like()), path)
    loaded = from_plain(torch.load(path, weights_only=True))
    buffer = loaded['log_scalars']['loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.max_length == 50
    log, count = buffer.data
    assert log.tolist() == [1.5, 2.0, 0.25]
    assert count.tolist() == [1, 2, 4]
    assert buffer.mean() == pytest.approx((1.5 + 2.0 + 0.25) / 7)
    assert loaded['runtime_info']['iter'] == 7
    assert isinstance(loaded['runtime_info']['iter'], int)
    np.testing.assert_array_equal(loaded['runtime_info']['table'],
                                  np.arange(6).reshape(2, 3))
    assert isinstance(loaded['log_scalars'], OrderedDict)


def test_allowlist_reads_numpy_arrays_of_plain_mmengine(tmp_path):
    path = tmp_path / 'numpy.pth'
    torch.save(dict(meta=dict(arr=np.arange(4), seed=np.int64(3))), path)
    allow_mmengine_globals()
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['arr'].tolist() == [0, 1, 2, 3]
