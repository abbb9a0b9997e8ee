"""PP-LCNet's size at every scale equals the published table (Params(M) / FLOPs(M))."""

from __future__ import annotations

import numpy as np
import pytest

from lcnet_ov import zoo
from lcnet_ov.arch import SCALES, blocks, complexity, make_divisible

IMAGENET_NAMES = [n for n in zoo.list_models() if zoo.get_spec(n).task == "imagenet"]

# The seed's table (PP-LCNet doc, section 4.1)
PUBLISHED = {
    0.25: (1.5, 18),
    0.35: (1.6, 29),
    0.5: (1.9, 47),
    0.75: (2.4, 99),
    1.0: (3.0, 161),
    1.5: (4.5, 342),
    2.0: (6.5, 590),
    2.5: (9.0, 906),
}


@pytest.mark.parametrize("scale", SCALES)
def test_complexity_matches_published_table(scale):
    c = complexity(scale)
    params_m, flops_m = PUBLISHED[scale]
    assert round(c.params_m, 1) == params_m
    assert round(c.flops_m) == flops_m


@pytest.mark.parametrize("name", IMAGENET_NAMES)
def test_zoo_paper_figures_agree_with_architecture(name):
    spec = zoo.get_spec(name)
    c = complexity(spec.scale, spec.num_classes)
    assert round(c.params_m, 1) == spec.paper.params_m
    assert round(c.flops_m) == spec.paper.flops_m


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
    from lcnet_ov import paddle_arch

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
    from lcnet_ov.conversion import detect_scale

    state = {
        f"{b.stage}.{b.index}.pw_conv.conv.weight": np.zeros(
            (b.out_channels, b.in_channels, 1, 1), np.float32
        )
        for b in blocks(scale)
    }
    assert detect_scale(state) == scale
