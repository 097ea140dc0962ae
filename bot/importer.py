"""Read an import file (.xlsx first sheet, or .csv in UTF-8) into numbered rows."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from domain.text import clean_input
from handlers.usecases.bulk_import import normalise_header


class ImportFileError(Exception):
    """The file cannot be read as an import table."""


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Return (row number as the user sees it, {column: value}) for each non-empty row."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = _read_csv(path)
    elif suffix == ".xlsx":
        table = _read_xlsx(path)
    else:
        raise ImportFileError(f"{path.name}: use a .xlsx or .csv file")
    if not table:
        raise ImportFileError(f"{path.name}: the file is empty")
    header = normalise_header(table[0])
    if "type" not in header:
        raise ImportFileError(
            f"{path.name}: the first row must name the columns, with a 'type' column"
        )
    rows = []
    table = [[clean_input(c) if isinstance(c, str) else c for c in cells] for cells in table]
    for number, cells in enumerate(table[1:], start=2):
        if any(cell not in (None, "") for cell in cells):
            rows.append((number, dict(zip(header, cells, strict=False))))
    return rows


def _read_csv(path: Path) -> list[list[Any]]:
    try:
        # utf-8-sig: Excel on Windows saves CSV with a byte-order mark.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            return [row for row in reader]
    except csv.Error as error:
        # e.g. a field over the csv module's 131,072 characters: no import column needs that.
        raise ImportFileError(f"{path.name}: line {reader.line_num}: {error}") from None
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
