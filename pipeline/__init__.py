"""flopsheet: training compute of ML systems, estimated from a spreadsheet of papers."""

import polars as _polars

__version__ = "0.1.0"

# Polars' default engine plans each query for streaming, which costs seconds for queries made
# of many large expressions (one parser per column, the notes of every rule) and gains nothing
# here: every stage works on whole columns in memory anyway.
_polars.Config.set_engine_affinity("in-memory")
