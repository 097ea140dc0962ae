"""Writing cells of a workbook safely: every sheet we write goes through `safe_cell`.

What people typed reaches Excel: a text starting with = + - @ (also after spaces or tabs) must
stay text, never become a live formula (=HYPERLINK(...) leaking a neighbouring cell, =WEBSERVICE),
and a control character must not break the export (openpyxl refuses them in XML).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

CellValue = str | int | float | date | datetime | None

# Characters XML 1.0 cannot carry (openpyxl raises IllegalCharacterError on them).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@")
DATE_FORMAT = "yyyy-mm-dd"
DATE_TIME_FORMAT = "yyyy-mm-dd hh:mm"


def safe_cell(sheet: Worksheet, row: int, column: int, value: CellValue) -> Cell:
    """Write one value: text stays text, control characters go, dates become date cells."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        text = _ILLEGAL.sub("", value)
        cell.value = text
        if text.lstrip(" \t\r\n").startswith(_FORMULA_START):
            # Stored as a string, and marked so that editing it in Excel keeps it text.
            cell.data_type = "s"
            cell.quotePrefix = True
        return cell
    cell.value = value
    if isinstance(value, datetime):
        cell.number_format = DATE_TIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def append_row(sheet: Worksheet, values: Iterable[CellValue]) -> int:
    """Write a row below the last one through `safe_cell`; return its row number."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, 1):
        safe_cell(sheet, row, column, value)
    return row
