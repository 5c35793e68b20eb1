import csv

import pytest

from pathsr.datasets import SRManifestDataset

COLUMNS = ['slide', 'split', 'x', 'y', 'hr_path', 'lr_x2_path', 'lr_x4_path']


def _manifest(tmp_path, rows):
    path = tmp_path / 'manifest.csv'
    with open(path, 'w', newline='') as file:
        writer = csv.DictWriter(file, COLUMNS)
        writer.writeheader()
        for slide, split, x in rows:
            writer.writerow(dict(
                slide=slide, split=split, x=x, y=0,
                hr_path=f'hr/{slide}/{slide}_x{x}_y0.png',
                lr_x2_path=f'lr_x2/{slide}/{slide}_x{x}_y0.png',
                lr_x4_path=f'lr_x4/{slide}/{slide}_x{x}_y0.png'))
    return path


def test_rows_of_the_split_with_lr_of_the_scale(tmp_path):
    _manifest(tmp_path, [('a', 'train', 0), ('a', 'train', 192),
                         ('b', 'val', 0)])
    train = SRManifestDataset(data_root=str(tmp_path), split='train',
                              scale=4)
    assert len(train) == 2
    info = train.get_data_info(1)
    assert info['gt_path'] == str(tmp_path / 'hr/a/a_x192_y0.png')
    assert info['lr_path'] == str(tmp_path / 'lr_x4/a/a_x192_y0.png')
    assert info['scale'] == 4.0 and info['slide'] == 'a'
    val = SRManifestDataset(data_root=str(tmp_path), split='val',
                            paired=False)
    assert 'lr_path' not in val.get_data_info(0)


def test_missing_lr_column_and_empty_split_are_named(tmp_path):
    _manifest(tmp_path, [('a', 'train', 0)])
    with pytest.raises(KeyError, match="'lr_x8_path'"):
        SRManifestDataset(data_root=str(tmp_path), scale=8)
    with pytest.raises(ValueError, match="split 'test'"):
        SRManifestDataset(data_root=str(tmp_path), split='test', scale=2)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        SRManifestDataset(data_root=str(tmp_path / 'nowhere'), scale=2)
    with pytest.raises(ValueError, match='needs the scale'):
        SRManifestDataset(data_root=str(tmp_path))
