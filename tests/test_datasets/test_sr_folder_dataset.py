import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from pathsr.datasets import SRFolderDataset
from pathsr.registry import DATASETS


def _touch(folder, *names):
    """Create empty files (the dataset only lists them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b'')


def _names(dataset, key='gt_path'):
    return [
        osp.basename(dataset.get_data_info(i)[key])
        for i in range(len(dataset))
    ]


def test_lists_supported_images_sorted_case_insensitive(tmp_path):
    _touch(tmp_path, 'b.PNG', 'a.tif', 'c.jpeg', 'd.Tiff', 'e.JPG', 'f.bmp',
           'notes.txt', 'anim.gif')
    _touch(tmp_path / 'sub', 'g.png')
    dataset = SRFolderDataset(data_root=str(tmp_path))
    assert _names(dataset) == [
        'a.tif', 'b.PNG', 'c.jpeg', 'd.Tiff', 'e.JPG', 'f.bmp'
    ]
    info = dataset.get_data_info(0)
    assert info['gt_path'] == osp.join(str(tmp_path), 'a.tif')
    assert 'lr_path' not in info
    assert info['sample_idx'] == 0
    assert dataset.metainfo == dict(dataset_type='sr_folder')


def test_gt_prefix_is_joined_to_data_root(tmp_path):
    _touch(tmp_path / 'hr', 'x.png')
    dataset = SRFolderDataset(
        data_root=str(tmp_path), data_prefix=dict(gt='hr'))
    assert dataset.get_data_info(0)['gt_path'] == osp.join(
        str(tmp_path), 'hr', 'x.png')


def test_ann_file_lists_files_skipping_blanks_and_comments(tmp_path):
    _touch(tmp_path / 'hr', 'a.png', 'b.png', 'c.png')
    (tmp_path / 'meta.txt').write_text('# tiles\nc.png\n\n  a.png  \n')
    dataset = SRFolderDataset(
        data_root=str(tmp_path),
        data_prefix=dict(gt='hr'),
        ann_file='meta.txt')
    assert _names(dataset) == ['c.png', 'a.png']


def test_ann_file_missing_entry_names_it_and_ann_file(tmp_path):
    _touch(tmp_path, 'a.png')
    (tmp_path / 'meta.txt').write_text('a.png\nghost.png\n')
    with pytest.raises(FileNotFoundError, match=r'ghost\.png.*meta\.txt'):
        SRFolderDataset(data_root=str(tmp_path), ann_file='meta.txt')


def test_missing_ann_file_names_it(tmp_path):
    _touch(tmp_path, 'a.png')
    with pytest.raises(FileNotFoundError, match=r'nothere\.txt'):
        SRFolderDataset(data_root=str(tmp_path), ann_file='nothere.txt')


def test_lr_partner_matched_by_stem_any_extension(tmp_path):
    _touch(tmp_path / 'hr', 'a.png', 'b.png')
    _touch(tmp_path / 'lr', 'b.JPG', 'a.tif', 'readme.txt')
    dataset = SRFolderDataset(
        data_root=str(tmp_path), data_prefix=dict(gt='hr', lr='lr'))
    assert _names(dataset) == ['a.png', 'b.png']
    assert _names(dataset, 'lr_path') == ['a.tif', 'b.JPG']
    assert dataset.get_data_info(1)['lr_path'] == osp.join(
        str(tmp_path), 'lr', 'b.JPG')


def test_missing_lr_partner_names_file(tmp_path):
    _touch(tmp_path / 'hr', 'a.png', 'b.png')
    _touch(tmp_path / 'lr', 'a.png')
    with pytest.raises(FileNotFoundError, match=r'b\.png.*LR folder .*lr'):
        SRFolderDataset(
            data_root=str(tmp_path), data_prefix=dict(gt='hr', lr='lr'))


def test_ambiguous_lr_partner_names_candidates(tmp_path):
    _touch(tmp_path / 'hr', 'a.png')
    _touch(tmp_path / 'lr', 'a.png', 'a.tif')
    with pytest.raises(ValueError, match=r"a\.png.*\['a\.png', 'a\.tif'\]"):
        SRFolderDataset(
            data_root=str(tmp_path), data_prefix=dict(gt='hr', lr='lr'))


def test_missing_lr_folder_names_it(tmp_path):
    _touch(tmp_path / 'hr', 'a.png')
    with pytest.raises(FileNotFoundError, match='lr_x4'):
        SRFolderDataset(
            data_root=str(tmp_path), data_prefix=dict(gt='hr', lr='lr_x4'))


def test_optional_lr_folder(tmp_path):
    _touch(tmp_path, 'a.png', 'b.png')
    kwargs = dict(data_root=str(tmp_path), data_prefix=dict(lr='lr_x4'),
                  lr_optional=True)
    # absent: no lr_path, and the images of data_root are still found
    dataset = SRFolderDataset(**kwargs)
    assert _names(dataset) == ['a.png', 'b.png']
    assert 'lr_path' not in dataset.get_data_info(0)
    # present: every HR image needs its partner, as without lr_optional
    _touch(tmp_path / 'lr_x4', 'a.png', 'b.tif')
    dataset = SRFolderDataset(**kwargs)
    assert _names(dataset, 'lr_path') == ['a.png', 'b.tif']
    (tmp_path / 'lr_x4' / 'b.tif').unlink()
    with pytest.raises(FileNotFoundError, match='no LR partner'):
        SRFolderDataset(**kwargs)


def test_missing_data_root_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='no_such_root'):
        SRFolderDataset(data_root=str(tmp_path / 'no_such_root'))


def test_empty_folder_names_it_and_extensions(tmp_path):
    _touch(tmp_path / 'empty', 'notes.txt')
    with pytest.raises(ValueError, match=r"empty.*'\.png'.*'\.bmp'"):
        SRFolderDataset(data_root=str(tmp_path / 'empty'))


def test_folder_split_is_deterministic_and_disjoint(tmp_path):
    names = [f'tile_{i:02d}.png' for i in range(25)]
    _touch(tmp_path, *reversed(names))
    splits = {
        split: _names(SRFolderDataset(data_root=str(tmp_path), split=split))
        for split in ('train', 'val', 'test')
    }
    # k = round(1 / 0.1) = 10: sorted indices 0, 10, 20 are held out
    assert splits['val'] == ['tile_00.png', 'tile_10.png', 'tile_20.png']
    assert splits['test'] == splits['val']
    assert len(splits['train']) == 22
    assert not set(splits['train']) & set(splits['val'])
    assert sorted(splits['train'] + splits['val']) == names
    again = _names(SRFolderDataset(data_root=str(tmp_path), split='train'))
    assert again == splits['train']


def test_folder_split_fraction_sets_every_kth(tmp_path):
    _touch(tmp_path, *[f'{i}.png' for i in range(7)])
    val = _names(
        SRFolderDataset(
            data_root=str(tmp_path), split='val', val_fraction=0.3))
    # k = round(1 / 0.3) = 3
    assert val == ['0.png', '3.png', '6.png']


def test_folder_split_of_single_image_keeps_it_for_val(tmp_path):
    _touch(tmp_path, 'only.png')
    val = SRFolderDataset(data_root=str(tmp_path), split='val')
    assert _names(val) == ['only.png']
    with pytest.raises(ValueError, match=r"split 'train'.*empty"):
        SRFolderDataset(data_root=str(tmp_path), split='train')


def test_split_subfolder_preferred(tmp_path):
    _touch(tmp_path, 'root_a.png', 'root_b.png')
    _touch(tmp_path / 'train', 't1.png', 't2.png')
    _touch(tmp_path / 'val', 'v1.png')
    assert _names(SRFolderDataset(data_root=str(tmp_path),
                                  split='train')) == ['t1.png', 't2.png']
    val = SRFolderDataset(data_root=str(tmp_path), split='val')
    assert _names(val) == ['v1.png']
    assert val.get_data_info(0)['gt_path'] == osp.join(
        str(tmp_path), 'val', 'v1.png')
    # no test/ folder: the test split is the val/ folder
    assert _names(SRFolderDataset(data_root=str(tmp_path),
                                  split='test')) == ['v1.png']


def test_test_split_without_test_or_val_folder_uses_root_split(tmp_path):
    _touch(tmp_path, 'root_a.png', 'root_b.png')
    _touch(tmp_path / 'train', 't1.png')
    assert _names(SRFolderDataset(data_root=str(tmp_path),
                                  split='test')) == ['root_a.png']


def test_dataset_scale_is_given_to_every_sample(tmp_path):
    _touch(tmp_path, 'a.png', 'b.png')
    dataset = SRFolderDataset(data_root=str(tmp_path), scale=3)
    assert [dataset.get_data_info(i)['scale'] for i in range(2)] == [3.0, 3.0]
    assert 'scale' not in SRFolderDataset(
        data_root=str(tmp_path)).get_data_info(0)
    with pytest.raises(ValueError, match='SRFolderDataset.*nan'):
        SRFolderDataset(data_root=str(tmp_path), scale=float('nan'))


def test_explicit_gt_prefix_ignores_split(tmp_path):
    _touch(tmp_path / 'hr', *[f'{i}.png' for i in range(12)])
    dataset = SRFolderDataset(
        data_root=str(tmp_path), data_prefix=dict(gt='hr'), split='val')
    assert len(dataset) == 12


@pytest.mark.parametrize('kwargs,match', [
    (dict(split='training'), "'training'"),
    (dict(split='val', val_fraction=0.7), '0.7'),
    (dict(data_prefix=dict(img_path='')), 'img_path'),
])
def test_invalid_arguments_name_value(tmp_path, kwargs, match):
    _touch(tmp_path, 'a.png')
    with pytest.raises(ValueError, match=match):
        SRFolderDataset(data_root=str(tmp_path), **kwargs)


def test_lazy_init_defers_listing(tmp_path):
    dataset = SRFolderDataset(data_root=str(tmp_path), lazy_init=True)
    _touch(tmp_path, 'late.png')
    dataset.full_init()
    assert _names(dataset) == ['late.png']


def test_build_from_registry_runs_pipeline(tmp_path, write_rgb):
    init_default_scope('pathsr')
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (16, 12, 3), np.uint8) for _ in range(2)]
    write_rgb(tmp_path / 'a.png', images[0])
    write_rgb(tmp_path / 'b.tif', images[1])
    dataset = DATASETS.build(
        dict(
            type='SRFolderDataset',
            data_root=str(tmp_path),
            pipeline=[
                dict(type='LoadSRImage'),
                dict(type='BicubicDegradation', scale=2),
                dict(type='PackSRInputs')
            ]))
    assert isinstance(dataset, SRFolderDataset)
    packed = dataset[1]
    sample = packed['data_samples']
    np.testing.assert_array_equal(sample.gt_img.numpy(),
                                  images[1].transpose(2, 0, 1))
    assert packed['inputs'].shape == (3, 8, 6)
    assert sample.sample_idx == 1
    assert sample.gt_path == osp.join(str(tmp_path), 'b.tif')
