"""PP-LCNet as Paddle layers, with PaddleClas' parameter names.

Imported only by conversion code (Paddle is the ``convert`` extra). Attribute names mirror
PaddleClas' ``PPLCNetBaseNet`` so that ``state_dict`` keys of a training checkpoint
(``conv1.conv.weight``, ``blocks6.0.se.conv1.bias``, ``fc.weight``, ...) load unchanged.
"""

from __future__ import annotations

from .._deps import require

paddle = require("paddle", extra="convert")
nn = paddle.nn

from .arch import CLASS_EXPAND, DROPOUT_PROB, SE_REDUCTION, STEM_CHANNELS, blocks, make_divisible  # noqa: E402


class ConvBNLayer(nn.Layer):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2D(
            cin,
            cout,
            kernel,
            stride=stride,
            padding=(kernel - 1) // 2,
            groups=groups,
            bias_attr=False,
        )
        self.bn = nn.BatchNorm2D(cout)
        self.act = nn.Hardswish()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class SEModule(nn.Layer):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.conv1 = nn.Conv2D(channels, channels // SE_REDUCTION, 1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2D(channels // SE_REDUCTION, channels, 1)
        self.hardsigmoid = nn.Hardsigmoid()

    def forward(self, x):
        w = self.hardsigmoid(self.conv2(self.relu(self.conv1(self.avg_pool(x)))))
        return x * w


class DepthwiseSeparable(nn.Layer):
    def __init__(self, cin: int, cout: int, stride: int, kernel: int, use_se: bool) -> None:
        super().__init__()
        self.use_se = use_se
        self.dw_conv = ConvBNLayer(cin, cin, kernel, stride, groups=cin)
        if use_se:
            self.se = SEModule(cin)
        self.pw_conv = ConvBNLayer(cin, cout, 1, 1)

    def forward(self, x):
        x = self.dw_conv(x)
        if self.use_se:
            x = self.se(x)
        return self.pw_conv(x)


class PPLCNet(nn.Layer):
    """The backbone plus head; ``forward`` returns logits like PaddleClas' training model."""

    def __init__(
        self, scale: float = 1.0, class_num: int = 1000, dropout_prob: float = DROPOUT_PROB
    ):
        super().__init__()
        self.scale = scale
        self.conv1 = ConvBNLayer(3, make_divisible(STEM_CHANNELS * scale), 3, 2)
        plan = blocks(scale)
        for stage in dict.fromkeys(b.stage for b in plan):
            layers = [
                DepthwiseSeparable(b.in_channels, b.out_channels, b.stride, b.kernel, b.use_se)
                for b in plan
                if b.stage == stage
            ]
            setattr(self, stage, nn.Sequential(*layers))
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.last_conv = nn.Conv2D(plan[-1].out_channels, CLASS_EXPAND, 1, bias_attr=False)
        self.act = nn.Hardswish()
        # downscale_in_infer: at inference the features are multiplied by (1 - p), as in the
        # official exports; an upscale_in_train dropout would silently change every score
        self.dropout = nn.Dropout(p=dropout_prob, mode="downscale_in_infer")
        self.flatten = nn.Flatten(start_axis=1, stop_axis=-1)
        self.fc = nn.Linear(CLASS_EXPAND, class_num)

    def features(self, x):
        x = self.conv1(x)
        for stage in ("blocks2", "blocks3", "blocks4", "blocks5", "blocks6"):
            x = getattr(self, stage)(x)
        x = self.act(self.last_conv(self.avg_pool(x)))
        return self.flatten(self.dropout(x))

    def forward(self, x):
        return self.fc(self.features(x))


class InferenceModel(nn.Layer):
    """What PaddleClas' ``tools/export_model.py`` saves: the network followed by Softmax."""

    def __init__(self, net: PPLCNet) -> None:
        super().__init__()
        self.base_model = net
        self.softmax = nn.Softmax(axis=-1)

    def forward(self, x):
        return self.softmax(self.base_model(x))


def build(scale: float, class_num: int = 1000) -> PPLCNet:
    """A PP-LCNet in eval mode with Paddle's default initialisation (weights to be loaded).

    Networks with random but healthy weights for tests are :func:`lcnet_ov.testing.seeded_network`.
    """
    net = PPLCNet(scale=scale, class_num=class_num)
    net.eval()
    return net
