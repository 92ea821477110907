"""flopsheet: training compute of ML systems, estimated from a spreadsheet of papers."""

__version__ = "0.1.0"
