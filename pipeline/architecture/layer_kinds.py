"""The rules of each layer type: from a layer's fields and its input shape, the output shape,
the parameters and the multiply-adds. Only products with weights and attention's products are
counted; pooling, activations, normalisation and bias additions are negligible and counted as 0."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.architecture.fields import Context, flag, pair, whole


@dataclass(frozen=True)
class Shape:
    """kind: image (C, H, W), sequence (T, F), vector (F,), tokens (T,)."""

    kind: Literal["image", "sequence", "vector", "tokens"]
    dims: tuple[int, ...]

    def __str__(self) -> str:
        if self.kind == "tokens":
            return f"{self.dims[0]} tokens"
        return f"{self.kind} " + "x".join(str(d) for d in self.dims)

    @property
    def features(self) -> int:
        """Channels of an image, features of a sequence step or a vector."""
        return self.dims[0] if self.kind == "image" else self.dims[-1]

    @property
    def positions(self) -> int:
        """Positions a per-position layer is applied at: H x W, T, or 1."""
        if self.kind == "image":
            return self.dims[1] * self.dims[2]
        if self.kind == "sequence":
            return self.dims[0]
        return 1


def _need(ctx: Context, shape: Shape, kinds: tuple[str, ...], what: str) -> None:
    if shape.kind not in kinds:
        raise ctx.fail(
            f"input is {shape}, but this layer needs {what}",
            expected=_SHAPE_HINTS.get(shape.kind, "a different input"),
        )


_SHAPE_HINTS = {
    "image": "a flatten or global_avgpool layer before it",
    "tokens": "an embedding layer first",
    "vector": "an image or sequence input",
    "sequence": "a sequence layer, or flatten / global_avgpool first",
}

# Each rule takes (context, layer, input shape) and returns (output shape, parameters, MACs).
LayerResult = tuple[Shape, int, int]


def _dense(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("vector", "sequence"), "a vector or a sequence")
    out = whole(ctx, layer, "out_features")
    bias = flag(ctx, layer, "bias", True)
    inp = shape.features
    params = inp * out + (out if bias else 0)
    dims = (out,) if shape.kind == "vector" else (shape.dims[0], out)
    return Shape(shape.kind, dims), params, shape.positions * inp * out


def _conv_out(ctx: Context, size: int, kernel: int, stride: int, padding: int,
              dilation: int, axis: str, ceil_mode: bool = False) -> int:  # fmt: skip
    span = dilation * (kernel - 1) + 1
    room = size + 2 * padding - span
    if room < 0:
        raise ctx.fail(
            f"kernel of extent {span} does not fit the {axis} of {size} (padding {padding})",
            expected="a kernel no larger than the padded input",
        )
    steps = -(-room // stride) if ceil_mode else room // stride
    if ceil_mode and steps * stride >= size + padding:
        steps -= 1  # the last window must start inside the input or its left padding
    return steps + 1


def _padding(ctx: Context, layer: Mapping[str, Any]) -> tuple[int, int] | str:
    value = layer.get("padding", 0)
    if value == "valid":
        return 0, 0
    if value == "same":
        return "same"
    if isinstance(value, str):
        raise ctx.fail(
            field="padding", value=value,
            expected='a whole number >= 0, a list of two, "same" or "valid"',
        )  # fmt: skip
    return pair(ctx, layer, "padding", 0, minimum=0)


def _window(ctx: Context, layer: Mapping[str, Any], shape: Shape, kernel: tuple[int, int],
            stride: tuple[int, int], dilation: tuple[int, int],
            ceil_mode: bool = False) -> tuple[int, int]:  # fmt: skip
    padding = _padding(ctx, layer)
    _, height, width = shape.dims
    if padding == "same":
        return -(-height // stride[0]), -(-width // stride[1])
    return (
        _conv_out(ctx, height, kernel[0], stride[0], padding[0], dilation[0], "height", ceil_mode),
        _conv_out(ctx, width, kernel[1], stride[1], padding[1], dilation[1], "width", ceil_mode),
    )


def _conv2d(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image",), "an image [channels, height, width]")
    out = whole(ctx, layer, "out_channels")
    kernel = pair(ctx, layer, "kernel", None)
    stride = pair(ctx, layer, "stride", 1)
    dilation = pair(ctx, layer, "dilation", 1)
    groups = whole(ctx, layer, "groups", 1)
    bias = flag(ctx, layer, "bias", True)
    channels = shape.dims[0]
    for name, count in (("input channels", channels), ("out_channels", out)):
        if count % groups:
            raise ctx.fail(
                f"{name} ({count}) are not divisible by the groups",
                field="groups", value=groups, expected=f"a divisor of {count}",
            )  # fmt: skip
    height, width = _window(ctx, layer, shape, kernel, stride, dilation)
    per_output = (channels // groups) * kernel[0] * kernel[1]
    params = out * per_output + (out if bias else 0)
    return Shape("image", (out, height, width)), params, out * height * width * per_output


def _pool(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image",), "an image [channels, height, width]")
    kernel = pair(ctx, layer, "kernel", None)
    stride = pair(ctx, layer, "stride", None) if "stride" in layer else kernel
    ceil_mode = flag(ctx, layer, "ceil_mode", False)
    height, width = _window(ctx, layer, shape, kernel, stride, (1, 1), ceil_mode)
    return Shape("image", (shape.dims[0], height, width)), 0, 0


def _global_pool(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image", "sequence"), "an image or a sequence")
    return Shape("vector", (shape.features,)), 0, 0


def _flatten(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image", "sequence", "vector"), "an image, a sequence or a vector")
    return Shape("vector", (math.prod(shape.dims),)), 0, 0


def _embedding(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("tokens",), 'token ids (input {"tokens": steps})')
    vocab = whole(ctx, layer, "vocab_size")
    dim = whole(ctx, layer, "dim")
    # A look-up, not a product: no multiply-adds.
    return Shape("sequence", (shape.dims[0], dim)), vocab * dim, 0


def _recurrent(gates: int) -> Callable[[Context, Mapping[str, Any], Shape], LayerResult]:
    def count(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
        _need(ctx, shape, ("sequence",), "a sequence [steps, features]")
        hidden = whole(ctx, layer, "hidden_size")
        stack = whole(ctx, layer, "layers", 1)
        directions = 2 if flag(ctx, layer, "bidirectional", False) else 1
        bias = flag(ctx, layer, "bias", True)
        return_sequences = flag(ctx, layer, "return_sequences", True)
        steps, inp = shape.dims
        params = macs = 0
        for _ in range(stack):
            weights = gates * (inp * hidden + hidden * hidden)
            params += directions * (weights + (gates * hidden if bias else 0))
            macs += directions * steps * weights
            inp = hidden * directions
        if return_sequences:
            return Shape("sequence", (steps, inp)), params, macs
        return Shape("vector", (inp,)), params, macs

    return count


def _attention(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("sequence",), "a sequence [steps, features]")
    heads = whole(ctx, layer, "heads")
    causal = flag(ctx, layer, "causal", False)
    bias = flag(ctx, layer, "bias", True)
    steps, width = shape.dims
    if width % heads:
        raise ctx.fail(
            f"the width {width} is not divisible by the heads", field="heads", value=heads,
            expected=f"a divisor of {width}",
        )  # fmt: skip
    params = 4 * width * width + (4 * width if bias else 0)
    projections = steps * 4 * width * width
    # QK^T and attention x V: steps x steps x width multiply-adds each; a causal mask
    # leaves each position about half the sequence.
    context = 2 * steps * steps * width
    if causal:
        context //= 2
    return shape, params, projections + context


def _norm(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image", "sequence", "vector"), "an image, a sequence or a vector")
    affine = flag(ctx, layer, "affine", True)
    return shape, 2 * shape.features if affine else 0, 0


def _free(ctx: Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    return shape, 0, 0


LAYER_TYPES: dict[str, tuple[Callable[[Context, Mapping[str, Any], Shape], LayerResult], tuple[str, ...]]] = {
    "dense": (_dense, ("out_features", "bias")),
    "conv2d": (_conv2d, ("out_channels", "kernel", "stride", "padding", "dilation", "groups", "bias")),
    "maxpool": (_pool, ("kernel", "stride", "padding", "ceil_mode")),
    "avgpool": (_pool, ("kernel", "stride", "padding", "ceil_mode")),
    "global_avgpool": (_global_pool, ()),
    "flatten": (_flatten, ()),
    "embedding": (_embedding, ("vocab_size", "dim")),
    "lstm": (_recurrent(4), ("hidden_size", "layers", "bidirectional", "bias", "return_sequences")),
    "gru": (_recurrent(3), ("hidden_size", "layers", "bidirectional", "bias", "return_sequences")),
    "attention": (_attention, ("heads", "causal", "bias")),
    "batchnorm": (_norm, ("affine",)),
    "layernorm": (_norm, ("affine",)),
    **{
        name: (_free, ("p",) if name == "dropout" else ())
        for name in ("relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "dropout", "lrn", "identity")
    },
}  # fmt: skip

ALIASES = {"linear": "dense", "fc": "dense", "conv": "conv2d"}
