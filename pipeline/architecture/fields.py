"""Reading a layer list's fields, and the one-line error a bad one raises: each reader checks a
value and, when it is wrong, names the layer, the field, the value and what was expected."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.errors import InputFileError


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


class Context:
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


def is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def whole(ctx: Context, layer: Mapping[str, Any], name: str, default: int | None = None,
          minimum: int = 1) -> int:  # fmt: skip
    if name not in layer:
        if default is None:
            raise ctx.fail(f"field '{name}' is missing", expected=_whole_text(minimum))
        return default
    value = layer[name]
    if not is_int(value) or value < minimum:
        raise ctx.fail(field=name, value=value, expected=_whole_text(minimum))
    return int(value)


def _whole_text(minimum: int) -> str:
    return "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"


def pair(ctx: Context, layer: Mapping[str, Any], name: str, default: int | None,
         minimum: int = 1) -> tuple[int, int]:  # fmt: skip
    """An int for both axes, or [height, width]."""
    if name not in layer:
        if default is None:
            raise ctx.fail(f"field '{name}' is missing", expected=_whole_text(minimum))
        return default, default
    value = layer[name]
    expected = f"{_whole_text(minimum)} or a list of two"
    if isinstance(value, list):
        if len(value) != 2 or not all(is_int(v) and v >= minimum for v in value):
            raise ctx.fail(field=name, value=value, expected=expected)
        return int(value[0]), int(value[1])
    if not is_int(value) or value < minimum:
        raise ctx.fail(field=name, value=value, expected=expected)
    return int(value), int(value)


def flag(ctx: Context, layer: Mapping[str, Any], name: str, default: bool) -> bool:
    value = layer.get(name, default)
    if not isinstance(value, bool):
        raise ctx.fail(field=name, value=value, expected="true or false")
    return value


def check_fields(
    ctx: Context, layer: Mapping[str, Any], allowed: Iterable[str], problem: str = "unknown field"
) -> None:
    allowed = tuple(allowed)
    for name in layer:
        if name not in allowed:
            raise ctx.fail(
                problem, field=name, value=layer[name], expected="one of " + ", ".join(allowed)
            )
