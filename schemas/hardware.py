"""The hardware table contract: one accelerator a row, dense peak FLOP/s per chip per format."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

# precision format -> the table column holding its dense peak per chip
PEAK_COLUMNS: dict[str, str] = {
    "fp64": "fp64_flop_per_second",
    "fp32": "fp32_flop_per_second",
    "tf32": "tf32_flop_per_second",
    "fp16": "fp16_flop_per_second",
    "tensor_16bit": "tensor_16bit_flop_per_second",
    "fp8": "fp8_flop_per_second",
    "fp4": "fp4_flop_per_second",
    "int8": "int8_op_per_second",
}

HARDWARE_TYPES = ("gpu", "tpu", "npu", "cpu", "other")

_PEAK = {"nullable": True, "gt": 0, "lt": 1e17}


class HardwareSchema(pa.DataFrameModel):
    name: str = pa.Field(unique=True, str_length={"min_value": 1})
    manufacturer: str = pa.Field(nullable=False)
    type: str = pa.Field(isin=HARDWARE_TYPES)
    release_date: pl.Date = pa.Field(nullable=True)
    fp64_flop_per_second: float = pa.Field(**_PEAK)
    fp32_flop_per_second: float = pa.Field(**_PEAK)
    tf32_flop_per_second: float = pa.Field(**_PEAK)
    fp16_flop_per_second: float = pa.Field(**_PEAK)
    tensor_16bit_flop_per_second: float = pa.Field(**_PEAK)
    fp8_flop_per_second: float = pa.Field(**_PEAK)
    fp4_flop_per_second: float = pa.Field(**_PEAK)
    int8_op_per_second: float = pa.Field(**_PEAK)
    aliases: str = pa.Field(nullable=True)
    source: str = pa.Field(str_startswith="http")

    @pa.dataframe_check(name="has_a_peak")
    def has_a_peak(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.any_horizontal(pl.col(c).is_not_null() for c in PEAK_COLUMNS.values())
        )

    class Config:
        strict = True
        coerce = True
