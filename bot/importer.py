"""Read an import file (.xlsx first sheet, or .csv in UTF-8) into numbered rows."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from handlers.usecases.bulk_import import normalise_header


class ImportFileError(Exception):
    """The file cannot be read as an import table."""


def read_table(path: Path) -> list[list[Any]]:
    """Return the cells of a .csv or of an .xlsx's first sheet, row by row (never empty)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = _read_csv(path)
    elif suffix == ".xlsx":
        table = _read_xlsx(path)
    else:
        raise ImportFileError(f"{path.name}: use a .xlsx or .csv file")
    if not table:
        raise ImportFileError(f"{path.name}: the file is empty")
    return table


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Return (row number as the user sees it, {column: value}) for each non-empty row."""
    table = read_table(path)
    header = normalise_header(table[0])
    if "type" not in header:
        raise ImportFileError(
            f"{path.name}: the first row must name the columns, with a 'type' column"
        )
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if any(cell not in (None, "") for cell in cells):
            rows.append((number, dict(zip(header, cells, strict=False))))
    return rows


def _read_csv(path: Path) -> list[list[Any]]:
    try:
        # utf-8-sig: Excel on Windows saves CSV with a byte-order mark.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [row for row in csv.reader(handle)]
    except UnicodeDecodeError:
        raise ImportFileError(f"{path.name}: save the CSV as UTF-8") from None
    except OSError as error:
        raise ImportFileError(f"{path.name}: {error.strerror}") from None


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except OSError as error:
        raise ImportFileError(f"{path.name}: {error.strerror}") from None
    except Exception:
        raise ImportFileError(f"{path.name}: not a readable .xlsx workbook") from None
    sheet = book.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]
