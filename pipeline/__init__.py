"""flopsheet: training compute of ML systems, estimated from a spreadsheet of papers."""
