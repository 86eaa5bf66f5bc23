"""Spreadsheet formula neutralising (the OWASP CSV-injection rule), both ways.

A text cell that a spreadsheet would run as a formula (first character =, +, -, @, tab or CR) is written
with a leading apostrophe, which spreadsheets show as text. To keep the export reversible a cell that
already looks neutralised (apostrophes, then one of those characters) gets one more apostrophe, and the
importer takes exactly one off such a cell: "=1" -> "'=1" -> "=1", "'=1" -> "''=1" -> "'=1".
"""

from __future__ import annotations

import re

FORMULA_STARTS = "=+-@\t\r"
_NEEDS_ESCAPE = re.compile(r"'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")


def neutralise(text: str) -> str:
    return "'" + text if _NEEDS_ESCAPE.match(text) else text


def restore(text: str) -> str:
    return text[1:] if _ESCAPED.match(text) else text
