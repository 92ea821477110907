"""Layer lists: parameters and forward FLOP per example of a network described layer by layer.

A layer list is a small JSON document, one per system (see docs/architecture-counting.md):

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

The rules of each layer type are in `pipeline.architecture.layer_kinds`; reading a file or a
spreadsheet cell is `pipeline.architecture.files`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.architecture.fields import Context, check_fields, is_int, whole
from pipeline.architecture.layer_kinds import ALIASES, LAYER_TYPES, Shape

MAX_REPEAT = 10_000  # blocks repeated more often than any real network are a typo
# Nested repeats multiply: a list that unrolls to more entries than this (layers and blocks; the
# largest networks have a few thousand) is a typo too, and walking it would take hours.
MAX_LAYERS = 100_000
BLOCK_TYPES = ("residual", "repeat")
COMMON_FIELDS = ("type", "name", "comment")
TOP_LEVEL_FIELDS = ("name", "reference", "notes", "input", "defaults", "layers")


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


def _input_shape(source: object, value: object) -> Shape:
    ctx = Context(source, "document", None)
    expected = (
        '[channels, height, width], [steps, features], [features] or {"tokens": steps}, '
        "with positive whole numbers"
    )
    if isinstance(value, dict):
        if set(value) != {"tokens"} or not is_int(value["tokens"]) or value["tokens"] < 1:
            raise ctx.fail(field="input", value=value, expected=expected)
        return Shape("tokens", (int(value["tokens"]),))
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 3
        or not all(is_int(v) and v >= 1 for v in value)
    ):
        raise ctx.fail(field="input", value=value, expected=expected)
    dims = tuple(int(v) for v in value)
    kind = {1: "vector", 2: "sequence", 3: "image"}[len(dims)]
    return Shape(kind, dims)  # type: ignore[arg-type]


def _layer_list(ctx_source: object, where: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise Context(ctx_source, where, None).fail(
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
            raise Context(self.source, where, None).fail(
                f"is {json.dumps(layer)}", expected='an object such as {"type": "dense", ...}'
            )
        raw_type = layer.get("type")
        ctx = Context(self.source, where, raw_type if isinstance(raw_type, str) else None)
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
        check_fields(ctx, layer, (*fields, *COMMON_FIELDS))
        out, params, macs = count(ctx, merged, shape)
        self.tally.add(layer_type, params, macs)
        return out

    def residual(self, ctx: Context, layer: Mapping[str, Any], shape: Shape, where: str) -> Shape:
        check_fields(ctx, layer, ("layers", "shortcut", *COMMON_FIELDS))
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

    def repeat(self, ctx: Context, layer: Mapping[str, Any], shape: Shape, where: str) -> Shape:
        check_fields(ctx, layer, ("times", "layers", *COMMON_FIELDS))
        times = whole(ctx, layer, "times")
        if times > MAX_REPEAT:
            raise ctx.fail(field="times", value=times, expected=f"at most {MAX_REPEAT:,}")
        body = _layer_list(self.source, f"{where}.layers", layer.get("layers"))
        for _ in range(times):
            shape = self.run(body, shape, f"{where}.layers")
        return shape


def count_layer_list(document: object, source: object = "<layer list>") -> LayerCount:
    """Count a parsed layer-list document. `source` names it in errors and breakdowns."""
    top = Context(source, "document", None)
    if not isinstance(document, dict):
        raise top.fail("not a JSON object", expected='{"input": ..., "layers": [...]}')
    check_fields(top, document, TOP_LEVEL_FIELDS, "unknown top-level field")
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
                raise Context(source, f"defaults.{layer_type}", layer_type).fail(
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
