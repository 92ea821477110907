"""Each chart as PNG and SVG files, rendered from its Vega-Lite spec by vl-convert."""

from __future__ import annotations

import re

import vl_convert as vlc


def stable_svg(svg: str) -> str:
    """Number the clip paths from 1 in each file. Vega numbers them with a counter that lives as
    long as the process, so the second chart rendered would otherwise differ byte for byte."""
    numbers: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        return numbers.setdefault(match.group(0), f"flopsheet-clip{len(numbers) + 1}")

    return re.sub(r'(?<=id=")clip\d+(?=")|(?<=url\(#)clip\d+(?=\))', renumber, svg)


def chart_files(specs: dict[str, dict]) -> dict[str, bytes]:
    """<chart>.png and <chart>.svg for each chart, by file name."""
    files = {}
    for name, spec in specs.items():
        files[f"{name}.png"] = vlc.vegalite_to_png(spec, scale=2)
        files[f"{name}.svg"] = stable_svg(vlc.vegalite_to_svg(spec)).encode()
    return files
