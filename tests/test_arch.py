"""PP-LCNet's size at every scale, counted from the layer plan, equals the published table
(Params(M) / FLOPs(M)) that the zoo holds."""

from __future__ import annotations

import numpy as np
import pytest

from lcnet_ov import zoo
from lcnet_ov.export.arch import SCALES, blocks, complexity, make_divisible

# PP-LCNet (v1) ImageNet entries: PaddleClas' and PaddleX's names (PP-LCNetV2 is another network)
IMAGENET_NAMES = [
    n
    for n in zoo.list_models()
    if zoo.get_spec(n).task == "imagenet" and zoo.get_spec(n).architecture == "PPLCNet"
]


def test_the_zoo_has_the_published_table_for_every_scale():
    """The zoo holds the one copy of the PP-LCNet doc's table (section 4.1); every scale the
    architecture knows has a row there, and the SSLD rows repeat their scale's size."""
    plain = {
        zoo.get_spec(n).scale: zoo.get_spec(n).paper for n in IMAGENET_NAMES if "ssld" not in n
    }
    assert sorted(plain) == sorted(SCALES)
    for name in IMAGENET_NAMES:
        spec = zoo.get_spec(name)
        same = plain[spec.scale]
        assert (spec.paper.params_m, spec.paper.flops_m) == (same.params_m, same.flops_m)


@pytest.mark.parametrize("name", IMAGENET_NAMES)
def test_counted_size_rounds_to_the_published_figures(name):
    """Params and FLOPs counted from the layer plan (arch.py, no Paddle) round to the table."""
    spec = zoo.get_spec(name)
    c = complexity(spec.scale, spec.num_classes)
    assert round(c.params_m, 1) == spec.paper.params_m
    assert round(c.flops_m) == spec.paper.flops_m


def test_text_orientation_size_is_counted_for_four_classes():
    spec = zoo.get_spec("text_image_orientation")
    c, imagenet = complexity(spec.scale, spec.num_classes), complexity(spec.scale)
    # same backbone, 4 instead of 1000 outputs in the 1280-wide FC layer
    assert imagenet.params - c.params == 1280 * (1000 - 4) + (1000 - 4)
    assert round(c.params_m, 1) == spec.paper.params_m


def test_make_divisible_never_loses_more_than_ten_percent():
    for v in np.arange(4, 2000, 0.7):
        d = make_divisible(v)
        assert d % 8 == 0 and d >= 0.9 * v


def test_widths_are_unique_per_scale():
    # detect_scale relies on this: each scale has a distinct channel plan
    plans = {tuple((b.in_channels, b.out_channels) for b in blocks(s)) for s in SCALES}
    assert len(plans) == len(SCALES)


@pytest.mark.parametrize("scale", SCALES)
def test_paddle_model_has_the_counted_parameters(scale, paddle_models):
    from lcnet_ov.export import paddle_arch

    net = paddle_arch.build(scale)
    # BN running statistics are Paddle parameters too, but not trainable ones
    n = sum(int(np.prod(p.shape)) for p in net.parameters() if not p.stop_gradient)
    assert n == complexity(scale).params
    # PaddleClas' parameter names, so training checkpoints load unchanged
    keys = set(net.state_dict())
    assert {"conv1.conv.weight", "conv1.bn._mean", "last_conv.weight", "fc.bias"} <= keys
    assert "blocks6.1.se.conv2.bias" in keys and "blocks5.0.se.conv1.weight" not in keys


@pytest.mark.parametrize("scale", SCALES)
def test_detect_scale_from_checkpoint_shapes(scale):
    from lcnet_ov.export.sources import detect_scale

    state = {
        f"{b.stage}.{b.index}.pw_conv.conv.weight": np.zeros(
            (b.out_channels, b.in_channels, 1, 1), np.float32
        )
        for b in blocks(scale)
    }
    assert detect_scale(state) == scale
