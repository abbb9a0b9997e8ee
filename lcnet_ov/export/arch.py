"""PP-LCNet's layer plan, in plain Python.

The plan is shared by the Paddle model builder (:mod:`lcnet_ov.export.paddle_arch`) and by the
complexity counter below, so the Params/FLOPs we report come from the same numbers that build
the network, without importing Paddle.
"""

from __future__ import annotations

from dataclasses import dataclass

# One row per depthwise-separable block: (kernel, in_channels, out_channels, stride, use_se),
# channel counts at scale 1.0. Stages are named as in PaddleClas so checkpoint keys match.
STAGES: dict[str, tuple[tuple[int, int, int, int, bool], ...]] = {
    "blocks2": ((3, 16, 32, 1, False),),
    "blocks3": ((3, 32, 64, 2, False), (3, 64, 64, 1, False)),
    "blocks4": ((3, 64, 128, 2, False), (3, 128, 128, 1, False)),
    "blocks5": (
        (3, 128, 256, 2, False),
        (5, 256, 256, 1, False),
        (5, 256, 256, 1, False),
        (5, 256, 256, 1, False),
        (5, 256, 256, 1, False),
        (5, 256, 256, 1, False),
    ),
    "blocks6": ((5, 256, 512, 2, True), (5, 512, 512, 1, True)),
}
STEM_CHANNELS = 16
CLASS_EXPAND = 1280
SE_REDUCTION = 4
DROPOUT_PROB = 0.2
SCALES = (0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5)


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of 8 without losing more than 10% (MobileNet convention)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@dataclass(frozen=True)
class Block:
    stage: str
    index: int
    kernel: int
    in_channels: int
    out_channels: int
    stride: int
    use_se: bool


def blocks(scale: float) -> list[Block]:
    """The depthwise-separable blocks at ``scale``, in forward order."""
    out: list[Block] = []
    for stage, rows in STAGES.items():
        for i, (k, cin, cout, s, se) in enumerate(rows):
            out.append(
                Block(stage, i, k, make_divisible(cin * scale), make_divisible(cout * scale), s, se)
            )
    return out


@dataclass(frozen=True)
class Complexity:
    """Learnable parameters and operation counts of one forward pass."""

    params: int
    #: multiply-accumulates of convolutions and the classifier
    macs: int
    #: operations as ``paddle.flops`` counts them, the convention of PaddleClas' tables
    flops: int

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def flops_m(self) -> float:
        return self.flops / 1e6


def complexity(scale: float, num_classes: int = 1000, input_size: int = 224) -> Complexity:
    """Count what PaddleClas' model tables report, without building the network.

    Parameters: conv/linear weights and biases plus BatchNorm scale and shift (not its running
    statistics). FLOPs follow ``paddle.flops``: conv and linear MACs, one add per conv bias,
    two ops per BatchNorm element, ``k*k + 1`` per adaptive-pool output; activations count zero.
    We count analytically because ``paddle.flops`` itself crashes on numpy 2.4.
    """
    params = macs = extra = 0
    hw = input_size

    def conv(cin: int, cout: int, k: int, stride: int, groups: int = 1, bn: bool = True) -> None:
        nonlocal params, macs, extra, hw
        hw = (hw + 2 * ((k - 1) // 2) - k) // stride + 1
        w = cout * (cin // groups) * k * k
        params += w
        macs += w * hw * hw
        if bn:
            params += 2 * cout
            extra += 2 * cout * hw * hw

    def pool(channels: int) -> None:
        nonlocal extra
        extra += (hw * hw + 1) * channels

    conv(3, make_divisible(STEM_CHANNELS * scale), 3, 2)
    for b in blocks(scale):
        conv(b.in_channels, b.in_channels, b.kernel, b.stride, groups=b.in_channels)
        if b.use_se:
            mid = b.in_channels // SE_REDUCTION
            pool(b.in_channels)
            params += 2 * b.in_channels * mid + mid + b.in_channels
            macs += 2 * b.in_channels * mid
            extra += mid + b.in_channels
        conv(b.in_channels, b.out_channels, 1, 1)
    last = blocks(scale)[-1].out_channels
    pool(last)
    params += last * CLASS_EXPAND + CLASS_EXPAND * num_classes + num_classes
    macs += last * CLASS_EXPAND + CLASS_EXPAND * num_classes
    return Complexity(params=params, macs=macs, flops=macs + extra)
