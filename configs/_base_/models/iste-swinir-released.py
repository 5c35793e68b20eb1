# ISTE as the authors' released code computes it (github.com/dmhdmhdmh/ISTE,
# HEAD d024f73): every switch of iste-swinir.py that differs from the paper
# model set to the released behaviour. Use it to load converted released
# weights (tools/model_converters/iste_official_to_pathsr.py) or to reproduce
# the released code; docs/iste.md lists each switch.
_base_ = './iste-swinir.py'

model = dict(
    head=dict(
        # LFI tokens by the released raw reshape of the (C, 3, 3) window
        lfi_token_layout='released',
        # HEAD (2024-01): the self logit absorbs mass, adds no value
        self_value=False,
        # the released NumPy window extraction cuts the K/V gradients
        detach_kv=True,
        # STF keys: the textures of the queries of one forward call
        stf_mode='faithful',
        image_skip=False),
    # the released eval_bsize: the STF pool at test
    eval_chunk=30000)
