"""The HTML report of a published dataset (see docs/report.md).

Only the page's file name lives here, so that a refresh can look for a report without loading
altair and vl-convert, which `page` and `charts` import.
"""

REPORT_HTML = "report.html"
