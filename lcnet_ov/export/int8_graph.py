"""What an INT8 IR is made of: which compute ops really run in 8 bits, and which stay float.

Read from the graph itself (FakeQuantize or low-precision weights feeding each Convolution,
GroupConvolution and MatMul), so quantization reports, the refusal to quantize twice and the
benchmarks all count ops the same way. OpenVINO only.
"""

from __future__ import annotations

from typing import Any

from .arch import STAGES

#: op types whose weights make them the "compute" ops a report lists as INT8 or FP32
COMPUTE_OPS = ("Convolution", "GroupConvolution", "MatMul")


_GATES = ("HardSigmoid", "Sigmoid", "HSigmoid")


_LOW_PRECISION = ("i8", "u8", "i4", "u4")


def _producer(op: Any, port: int) -> Any:
    return op.input(port).get_source_output().get_node()


def is_quantized(model: Any) -> bool:
    """True when the IR already carries FakeQuantize nodes or low-precision weights."""
    for op in model.get_ops():
        kind = op.get_type_name()
        if kind == "FakeQuantize":
            return True
        if kind == "Constant" and op.get_element_type().get_type_name() in _LOW_PRECISION:
            return True
    return False


def _weights_low_precision(op: Any) -> bool:
    """Walk the weight input's decompression chain (Convert/Subtract/Multiply/Reshape)."""
    stack, seen = [_producer(op, 1)], 0
    while stack and seen < 16:
        node = stack.pop()
        seen += 1
        kind = node.get_type_name()
        if kind == "FakeQuantize":
            return True
        if kind == "Constant":
            if node.get_element_type().get_type_name() in _LOW_PRECISION:
                return True
            continue
        if kind in ("Convert", "Subtract", "Multiply", "Reshape", "Transpose", "Unsqueeze"):
            stack.extend(i.get_source_output().get_node() for i in node.inputs())
    return False


def compute_op_precisions(model: Any) -> tuple[list[str], list[str]]:
    """``(int8, fp32)`` friendly names of compute ops, judged by their weights.

    NNCF compresses the weights of every op it quantizes and restores float weights of every
    op accuracy control reverts, so the weights tell what actually runs in INT8.
    """
    int8, fp32 = [], []
    for op in model.get_ordered_ops():
        if op.get_type_name() in COMPUTE_OPS and op.get_input_size() > 1:
            (int8 if _weights_low_precision(op) else fp32).append(op.get_friendly_name())
    return int8, fp32


def paddleclas_layers() -> list[tuple[str, tuple[str, ...]]]:
    """PP-LCNet's compute layers in forward order, as PaddleClas names them (its state-dict
    keys without ``.weight``), each with the op types OpenVINO may give it.

    The plan is the same at every scale (only channel counts change), and the compute ops form
    one chain, so the n-th compute op of a converted PP-LCNet is the n-th layer here.
    """
    conv, dw = ("Convolution",), ("GroupConvolution", "Convolution")
    layers: list[tuple[str, tuple[str, ...]]] = [("conv1.conv", conv)]
    for stage, rows in STAGES.items():
        for i, row in enumerate(rows):
            layers.append((f"{stage}.{i}.dw_conv.conv", dw))
            if row[4]:  # use_se
                layers += [(f"{stage}.{i}.se.conv1", conv), (f"{stage}.{i}.se.conv2", conv)]
            layers.append((f"{stage}.{i}.pw_conv.conv", conv))
    return [*layers, ("last_conv", conv), ("fc", ("MatMul",))]


def _tensor_name(op: Any, hops: int = 4) -> str | None:
    """The first tensor name on or just after ``op`` (bias Add, BatchNorm, activation): what
    the source framework called this layer's output, when the friendly name is generated."""
    node = op
    for _ in range(hops):
        for out in node.outputs():
            names = sorted(out.get_names())
            if names:
                return names[0]
        consumers = [i.get_node() for o in node.outputs() for i in o.get_target_inputs()]
        if len(consumers) != 1:
            return None
        node = consumers[0]
    return None


def layer_names(model: Any) -> dict[str, str]:
    """Friendly name of each compute op → the layer a reader knows it by.

    Conversion fuses BatchNorm into the convolution and NNCF renames nothing useful, so the
    graph's friendly names are generated (``Multiply_5032``). A graph whose compute ops line up
    with PP-LCNet's plan gets PaddleClas layer names (``blocks5.3.dw_conv.conv``); any other
    falls back to the nearest tensor name from the source model, then to the friendly name.
    """
    ops = [
        op
        for op in model.get_ordered_ops()
        if op.get_type_name() in COMPUTE_OPS and op.get_input_size() > 1
    ]
    plan = paddleclas_layers()
    if len(ops) == len(plan) and all(
        op.get_type_name() in kinds for op, (_, kinds) in zip(ops, plan, strict=True)
    ):
        return {op.get_friendly_name(): name for op, (name, _) in zip(ops, plan, strict=True)}
    return {op.get_friendly_name(): _tensor_name(op) or op.get_friendly_name() for op in ops}


def se_multiplies(model: Any) -> list[str]:
    """Names of SE ``Multiply`` ops: one input is a (Hard)Sigmoid gate, maybe FakeQuantized."""

    def gate(node: Any) -> bool:
        if node.get_type_name() == "FakeQuantize":
            node = _producer(node, 0)
        return node.get_type_name() in _GATES

    return [
        op.get_friendly_name()
        for op in model.get_ordered_ops()
        if op.get_type_name() == "Multiply"
        and any(gate(_producer(op, i)) for i in range(op.get_input_size()))
    ]


def _count_fq(model: Any) -> int:
    return sum(1 for op in model.get_ops() if op.get_type_name() == "FakeQuantize")
