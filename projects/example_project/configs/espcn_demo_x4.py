# ESPCN on the built-in demo crops. The module lives in this project, not in
# pathsr: custom_imports registers it, and _base_ is a relative path because
# mmengine's `pkg::` inheritance only knows OpenMMLab packages.
_base_ = ['../../../configs/edsr/edsr-tiny_demo_x4.py']

custom_imports = dict(
    imports=['projects.example_project.espcn'], allow_failed_imports=False)

model = dict(
    generator=dict(
        _delete_=True, type='ESPCN', upscale_factor=4, channels=(64, 32)),
    data_preprocessor=dict(mean=(0., 0., 0.)))
