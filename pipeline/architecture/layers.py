"""Layer lists: parameters and forward FLOP per example of a network described layer by layer.

A layer list is a small JSON document, one per system (see docs/ARCHITECTURE_COUNTING.md):

    {
      "name": "AlexNet (one GPU)",
      "reference": "Krizhevsky 2014, as in torchvision",
      "input": [3, 224, 224],
      "defaults": {"conv2d": {"bias": true}},
      "layers": [
        {"type": "conv2d", "out_channels": 64, "kernel": 11, "stride": 4, "padding": 2},
        {"type": "relu"},
        {"type": "maxpool", "kernel": 3, "stride": 2},
        ...
      ]
    }

`input` is an image [channels, height, width], a sequence [steps, features], a vector
[features], or token ids {"tokens": steps}. Each layer's output shape is the next layer's
input, so sizes are given once. One multiply-add is 2 FLOP; only products with weights and
attention's products are counted (pooling, activations, normalisation, residual additions and
bias additions are negligible and counted as 0).

Files are small and read one at a time in Python; `layer_list_frame` returns a polars frame
the pipeline joins on the `architecture_file` column.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from pipeline.errors import InputFileError
from pipeline.resources import ARCHITECTURES_DIR

DEFAULT_ARCHITECTURES_DIR = ARCHITECTURES_DIR

MAX_REPEAT = 10_000  # blocks repeated more often than any real network are a typo
# Nested repeats multiply: a list that unrolls to more entries than this (layers and blocks; the
# largest networks have a few thousand) is a typo too, and walking it would take hours.
MAX_LAYERS = 100_000
FRAME_SCHEMA = {
    "architecture_file": pl.String,
    "architecture_parameters": pl.Float64,
    "architecture_forward_flop_per_example": pl.Float64,
    "architecture_sequence_length": pl.Int64,
    "architecture_breakdown": pl.String,
    "architecture_error": pl.String,
}


class ArchitectureFileError(InputFileError):
    """A layer list that cannot be counted: names the file, the layer, the field, the value
    and what was expected, on one line."""

    def __init__(
        self,
        path: object,
        problem: str,
        *,
        where: str | None = None,
        layer_type: str | None = None,
        field: str | None = None,
        value: object = None,
        expected: str | None = None,
    ) -> None:
        self.where, self.layer_type, self.field = where, layer_type, field
        self.value, self.expected = value, expected
        super().__init__(path, problem)


# -- shapes -----------------------------------------------------------------------------


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


@dataclass
class _Tally:
    parameters: dict[str, int] = field(default_factory=dict)
    macs: dict[str, int] = field(default_factory=dict)

    def add(self, layer_type: str, parameters: int, macs: int) -> None:
        self.parameters[layer_type] = self.parameters.get(layer_type, 0) + parameters
        self.macs[layer_type] = self.macs.get(layer_type, 0) + macs


@dataclass(frozen=True)
class LayerCount:
    """What a layer list adds up to. FLOP = 2 x multiply-adds."""

    source: str
    name: str | None
    parameters: int
    forward_flop: int  # per example
    parameters_by_type: dict[str, int]
    flop_by_type: dict[str, int]
    input_shape: Shape
    output_shape: Shape
    sequence_length: int | None  # steps per example when the input is a sequence

    @property
    def forward_macs(self) -> int:
        return self.forward_flop // 2

    def breakdown(self) -> str:
        """'conv2d 1.3e9 + dense 1.2e8 = 1.4e9 FLOP/example forward; 6.1e7 params'."""
        terms = [f"{kind} {_sci(flop)}" for kind, flop in self.flop_by_type.items() if flop > 0]
        per = "example"
        if self.sequence_length is not None:
            per = f"example ({self.sequence_length} steps)"
        total = f"{_sci(self.forward_flop)} FLOP/{per} forward"
        if len(terms) > 1:
            total = " + ".join(terms) + " = " + total
        return f"{total}; {_sci(self.parameters)} params"


def _sci(value: float) -> str:
    """6.5e10 style, as `pipeline.formatting.sci` prints it."""
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = round(value / 10**exponent, 1)
    if mantissa >= 10:
        exponent, mantissa = exponent + 1, round(mantissa / 10, 1)
    return f"{mantissa}e{exponent}"


# -- reading fields ---------------------------------------------------------------------


class _Context:
    """Where a layer sits, for error messages."""

    def __init__(self, source: object, where: str, layer_type: str | None) -> None:
        self.source, self.where, self.layer_type = source, where, layer_type

    def fail(self, problem: str | None = None, *, field: str | None = None,
             value: object = None, expected: str | None = None) -> ArchitectureFileError:  # fmt: skip
        kind = f" ({self.layer_type})" if self.layer_type else ""
        pieces = []
        if field is not None:
            pieces.append(f"field '{field}' is {json.dumps(value)}")
        if problem:
            pieces.append(problem)
        text = f"{self.where}{kind}: " + ": ".join(pieces)
        if expected:
            text += f"; expected {expected}"
        return ArchitectureFileError(
            self.source, text, where=self.where, layer_type=self.layer_type, field=field,
            value=value, expected=expected,
        )  # fmt: skip


def _is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def _whole(ctx: _Context, layer: Mapping[str, Any], name: str, default: int | None = None,
           minimum: int = 1) -> int:  # fmt: skip
    if name not in layer:
        if default is None:
            raise ctx.fail(f"field '{name}' is missing", expected=_whole_text(minimum))
        return default
    value = layer[name]
    if not _is_int(value) or value < minimum:
        raise ctx.fail(field=name, value=value, expected=_whole_text(minimum))
    return int(value)


def _whole_text(minimum: int) -> str:
    return "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"


def _pair(ctx: _Context, layer: Mapping[str, Any], name: str, default: int | None,
          minimum: int = 1) -> tuple[int, int]:  # fmt: skip
    """An int for both axes, or [height, width]."""
    if name not in layer:
        if default is None:
            raise ctx.fail(f"field '{name}' is missing", expected=_whole_text(minimum))
        return default, default
    value = layer[name]
    expected = f"{_whole_text(minimum)} or a list of two"
    if isinstance(value, list):
        if len(value) != 2 or not all(_is_int(v) and v >= minimum for v in value):
            raise ctx.fail(field=name, value=value, expected=expected)
        return int(value[0]), int(value[1])
    if not _is_int(value) or value < minimum:
        raise ctx.fail(field=name, value=value, expected=expected)
    return int(value), int(value)


def _flag(ctx: _Context, layer: Mapping[str, Any], name: str, default: bool) -> bool:
    value = layer.get(name, default)
    if not isinstance(value, bool):
        raise ctx.fail(field=name, value=value, expected="true or false")
    return value


def _need(ctx: _Context, shape: Shape, kinds: tuple[str, ...], what: str) -> None:
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


# -- layer types ------------------------------------------------------------------------
# Each takes (context, layer, input shape) and returns (output shape, parameters, MACs).

LayerResult = tuple[Shape, int, int]


def _dense(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("vector", "sequence"), "a vector or a sequence")
    out = _whole(ctx, layer, "out_features")
    bias = _flag(ctx, layer, "bias", True)
    inp = shape.features
    params = inp * out + (out if bias else 0)
    dims = (out,) if shape.kind == "vector" else (shape.dims[0], out)
    return Shape(shape.kind, dims), params, shape.positions * inp * out


def _conv_out(ctx: _Context, size: int, kernel: int, stride: int, padding: int,
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


def _padding(ctx: _Context, layer: Mapping[str, Any]) -> tuple[int, int] | str:
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
    return _pair(ctx, layer, "padding", 0, minimum=0)


def _window(ctx: _Context, layer: Mapping[str, Any], shape: Shape, kernel: tuple[int, int],
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


def _conv2d(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image",), "an image [channels, height, width]")
    out = _whole(ctx, layer, "out_channels")
    kernel = _pair(ctx, layer, "kernel", None)
    stride = _pair(ctx, layer, "stride", 1)
    dilation = _pair(ctx, layer, "dilation", 1)
    groups = _whole(ctx, layer, "groups", 1)
    bias = _flag(ctx, layer, "bias", True)
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


def _pool(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image",), "an image [channels, height, width]")
    kernel = _pair(ctx, layer, "kernel", None)
    stride = _pair(ctx, layer, "stride", None) if "stride" in layer else kernel
    ceil_mode = _flag(ctx, layer, "ceil_mode", False)
    height, width = _window(ctx, layer, shape, kernel, stride, (1, 1), ceil_mode)
    return Shape("image", (shape.dims[0], height, width)), 0, 0


def _global_pool(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image", "sequence"), "an image or a sequence")
    return Shape("vector", (shape.features,)), 0, 0


def _flatten(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image", "sequence", "vector"), "an image, a sequence or a vector")
    return Shape("vector", (math.prod(shape.dims),)), 0, 0


def _embedding(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("tokens",), 'token ids (input {"tokens": steps})')
    vocab = _whole(ctx, layer, "vocab_size")
    dim = _whole(ctx, layer, "dim")
    # A look-up, not a product: no multiply-adds.
    return Shape("sequence", (shape.dims[0], dim)), vocab * dim, 0


def _recurrent(gates: int) -> Callable[[_Context, Mapping[str, Any], Shape], LayerResult]:
    def count(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
        _need(ctx, shape, ("sequence",), "a sequence [steps, features]")
        hidden = _whole(ctx, layer, "hidden_size")
        stack = _whole(ctx, layer, "layers", 1)
        directions = 2 if _flag(ctx, layer, "bidirectional", False) else 1
        bias = _flag(ctx, layer, "bias", True)
        return_sequences = _flag(ctx, layer, "return_sequences", True)
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


def _attention(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("sequence",), "a sequence [steps, features]")
    heads = _whole(ctx, layer, "heads")
    causal = _flag(ctx, layer, "causal", False)
    bias = _flag(ctx, layer, "bias", True)
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


def _norm(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    _need(ctx, shape, ("image", "sequence", "vector"), "an image, a sequence or a vector")
    affine = _flag(ctx, layer, "affine", True)
    return shape, 2 * shape.features if affine else 0, 0


def _free(ctx: _Context, layer: Mapping[str, Any], shape: Shape) -> LayerResult:
    return shape, 0, 0


LAYER_TYPES: dict[str, tuple[Callable[[_Context, Mapping[str, Any], Shape], LayerResult], tuple[str, ...]]] = {
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
BLOCK_TYPES = ("residual", "repeat")
COMMON_FIELDS = ("type", "name", "comment")
TOP_LEVEL_FIELDS = ("name", "reference", "notes", "input", "defaults", "layers")


# -- walking the list -------------------------------------------------------------------


def _input_shape(source: object, value: object) -> Shape:
    ctx = _Context(source, "document", None)
    expected = (
        '[channels, height, width], [steps, features], [features] or {"tokens": steps}, '
        "with positive whole numbers"
    )
    if isinstance(value, dict):
        if set(value) != {"tokens"} or not _is_int(value["tokens"]) or value["tokens"] < 1:
            raise ctx.fail(field="input", value=value, expected=expected)
        return Shape("tokens", (int(value["tokens"]),))
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 3
        or not all(_is_int(v) and v >= 1 for v in value)
    ):
        raise ctx.fail(field="input", value=value, expected=expected)
    dims = tuple(int(v) for v in value)
    kind = {1: "vector", 2: "sequence", 3: "image"}[len(dims)]
    return Shape(kind, dims)  # type: ignore[arg-type]


def _layer_list(ctx_source: object, where: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise _Context(ctx_source, where, None).fail(
            "not a list of layers", expected="a list of layer objects"
        )
    return value


class _Walker:
    def __init__(self, source: object, defaults: Mapping[str, Mapping[str, Any]]) -> None:
        self.source = source
        self.defaults = defaults
        self.tally = _Tally()
        self.walked = 0

    def run(self, layers: Sequence[Any], shape: Shape, where: str) -> Shape:
        for index, layer in enumerate(layers):
            shape = self.one(layer, shape, f"{where}[{index}]")
        return shape

    def one(self, layer: object, shape: Shape, where: str) -> Shape:
        if not isinstance(layer, dict):
            raise _Context(self.source, where, None).fail(
                f"is {json.dumps(layer)}", expected='an object such as {"type": "dense", ...}'
            )
        raw_type = layer.get("type")
        ctx = _Context(self.source, where, raw_type if isinstance(raw_type, str) else None)
        self.walked += 1
        if self.walked > MAX_LAYERS:
            raise ctx.fail(
                f"the list unrolls to more than {MAX_LAYERS:,} layers (nested repeats multiply)",
                expected="a network no larger than any real one",
            )
        known = ", ".join(sorted([*LAYER_TYPES, *BLOCK_TYPES]))
        if not isinstance(raw_type, str):
            raise ctx.fail("no layer type", field="type", value=raw_type, expected=known)
        layer_type = ALIASES.get(raw_type.lower(), raw_type.lower())
        if layer_type == "residual":
            return self.residual(ctx, layer, shape, where)
        if layer_type == "repeat":
            return self.repeat(ctx, layer, shape, where)
        if layer_type not in LAYER_TYPES:
            raise ctx.fail("unknown layer type", field="type", value=raw_type, expected=known)
        count, fields = LAYER_TYPES[layer_type]
        merged = {**self.defaults.get(layer_type, {}), **layer}
        _check_fields(ctx, layer, (*fields, *COMMON_FIELDS))
        out, params, macs = count(ctx, merged, shape)
        self.tally.add(layer_type, params, macs)
        return out

    def residual(self, ctx: _Context, layer: Mapping[str, Any], shape: Shape, where: str) -> Shape:
        _check_fields(ctx, layer, ("layers", "shortcut", *COMMON_FIELDS))
        main = _layer_list(self.source, f"{where}.layers", layer.get("layers"))
        shortcut = _layer_list(self.source, f"{where}.shortcut", layer.get("shortcut", []))
        out = self.run(main, shape, f"{where}.layers")
        skip = self.run(shortcut, shape, f"{where}.shortcut")
        if out != skip:
            raise ctx.fail(
                f"the main path gives {out} but the shortcut gives {skip}",
                expected="a shortcut (e.g. a 1x1 conv2d with the same stride) that matches",
            )
        return out  # the addition is not counted

    def repeat(self, ctx: _Context, layer: Mapping[str, Any], shape: Shape, where: str) -> Shape:
        _check_fields(ctx, layer, ("times", "layers", *COMMON_FIELDS))
        times = _whole(ctx, layer, "times")
        if times > MAX_REPEAT:
            raise ctx.fail(field="times", value=times, expected=f"at most {MAX_REPEAT:,}")
        body = _layer_list(self.source, f"{where}.layers", layer.get("layers"))
        for _ in range(times):
            shape = self.run(body, shape, f"{where}.layers")
        return shape


def _check_fields(
    ctx: _Context, layer: Mapping[str, Any], allowed: Iterable[str], problem: str = "unknown field"
) -> None:
    allowed = tuple(allowed)
    for name in layer:
        if name not in allowed:
            raise ctx.fail(
                problem, field=name, value=layer[name], expected="one of " + ", ".join(allowed)
            )


def count_layer_list(document: object, source: object = "<layer list>") -> LayerCount:
    """Count a parsed layer-list document. `source` names it in errors and breakdowns."""
    top = _Context(source, "document", None)
    if not isinstance(document, dict):
        raise top.fail("not a JSON object", expected='{"input": ..., "layers": [...]}')
    _check_fields(top, document, TOP_LEVEL_FIELDS, "unknown top-level field")
    if "input" not in document:
        raise top.fail("field 'input' is missing", expected="the input shape")
    shape = _input_shape(source, document["input"])
    defaults = document.get("defaults", {})
    if not isinstance(defaults, dict) or not all(
        k in LAYER_TYPES and isinstance(v, dict) for k, v in defaults.items()
    ):
        raise top.fail(
            field="defaults", value=defaults,
            expected='{"layer type": {"field": value}} for known layer types',
        )  # fmt: skip
    for layer_type, fields in defaults.items():
        allowed = LAYER_TYPES[layer_type][1]
        for name, value in fields.items():
            if name not in allowed:
                raise _Context(source, f"defaults.{layer_type}", layer_type).fail(
                    "unknown field", field=name, value=value,
                    expected="one of " + ", ".join(allowed),
                )  # fmt: skip
    layers = _layer_list(source, "layers", document.get("layers"))
    if not layers:
        raise top.fail("no layers", expected="at least one layer")
    walker = _Walker(source, defaults)
    output = walker.run(layers, shape, "layers")
    tally = walker.tally
    name = document.get("name")
    sequence_length = shape.dims[0] if shape.kind in ("tokens", "sequence") else None
    return LayerCount(
        source=str(source),
        name=name if isinstance(name, str) else None,
        parameters=sum(tally.parameters.values()),
        forward_flop=2 * sum(tally.macs.values()),
        parameters_by_type=dict(tally.parameters),
        flop_by_type={kind: 2 * macs for kind, macs in tally.macs.items()},
        input_shape=shape,
        output_shape=output,
        sequence_length=sequence_length,
    )


def count_layer_file(path: Path | str, read_from: Path | None = None) -> LayerCount:
    """Read and count one JSON layer list (its bytes from `read_from` when given: a run's
    snapshot of it); errors name `path`."""
    path = Path(path)
    try:
        text = Path(read_from or path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArchitectureFileError(path, "architecture file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ArchitectureFileError(path, f"cannot read the architecture file: {error}") from None
    return count_layer_list(_parse_json(path, text), path)


def _parse_json(source: object, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ArchitectureFileError(
            source, f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def resolve_architecture(cell: str, search_dirs: Sequence[Path | str] = ()) -> Path:
    """The file a cell names: an absolute path as written; a relative one in each search
    folder (say, the spreadsheet's), then the shipped
    layer lists (`pipeline/data/architectures/`), each also with '.json' added."""
    name = cell.strip()
    written = Path(name)
    # Never the working directory: the same sheet must count the same wherever it is run.
    folders = () if written.is_absolute() else (*search_dirs, DEFAULT_ARCHITECTURES_DIR)
    candidates = [Path(folder) / written for folder in folders] or [written]
    for candidate in list(candidates):
        if candidate.suffix == "":
            candidates.append(candidate.with_suffix(".json"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ArchitectureFileError(
        name,
        "architecture file not found (looked in "
        + ", ".join(str(f) for f in folders or (written.parent,))
        + "; '.json' may be left off)",
    )


def count_architecture_cell(
    cell: str, search_dirs: Sequence[Path | str] = (), copies: Mapping[Path, Path] | None = None
) -> LayerCount:
    """A cell of the `architecture_file` column: inline JSON (starts with '{') or a file.
    `copies` maps a file the cell resolves to onto the snapshot to read instead."""
    text = cell.strip()
    if text.startswith("{"):
        return count_layer_list(_parse_json("inline architecture", text), "inline architecture")
    found = resolve_architecture(text, search_dirs)
    return count_layer_file(found, (copies or {}).get(found))


def _cell_name(cell: str) -> str:
    return "inline architecture" if cell.strip().startswith("{") else cell.strip()


def _counted_row(
    cell: str, search_dirs: Sequence[Path | str], copies: Mapping[Path, Path] | None
) -> dict:
    counted = count_architecture_cell(cell, search_dirs, copies)
    parameters, forward = float(counted.parameters), float(counted.forward_flop)
    if not (math.isfinite(parameters) and math.isfinite(forward)):
        raise OverflowError("counts past the float range")
    return {
        "architecture_file": cell,
        "architecture_parameters": parameters,
        "architecture_forward_flop_per_example": forward,
        "architecture_sequence_length": counted.sequence_length,
        "architecture_breakdown": counted.breakdown(),
        "architecture_error": None,
    }


def layer_list_frame(
    cells: Iterable[str | None],
    search_dirs: Sequence[Path | str] = (),
    errors: Literal["raise", "record"] = "raise",
    copies: Mapping[Path, Path] | None = None,
) -> pl.DataFrame:
    """One row per distinct non-blank cell, to join on `architecture_file`.

    With errors="record" a bad file gives a row whose counts are null and whose
    `architecture_error` holds the one-line message, so the row can be quarantined instead
    of ending the run.
    """
    rows = []
    for cell in dict.fromkeys(c for c in cells if c is not None and c.strip()):
        try:
            rows.append(_counted_row(cell, search_dirs, copies))
        except (
            ArchitectureFileError,
            ArithmeticError,
            RecursionError,
            ValueError,
            TypeError,
        ) as error:
            # Sizes past the float range or nesting past Python's stack are bad files too.
            problem = (
                error if isinstance(error, ArchitectureFileError)
                else ArchitectureFileError(_cell_name(cell), f"cannot be counted: {type(error).__name__}: {error}")
            )  # fmt: skip
            if errors == "raise":
                raise problem from None
            rows.append({"architecture_file": cell, "architecture_error": str(problem)})
    return pl.DataFrame(rows, schema=FRAME_SCHEMA)
