"""Read an import file (.xlsx first sheet, or .csv in UTF-8) into numbered rows."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any, TextIO

from domain.text import clean_input
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


class ProgressBar:
    """A one-line progress bar on a terminal (stderr), redrawn in place."""

    WIDTH = 30

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.total = max(total, 1)
        self.started = time.monotonic()

    @classmethod
    def for_terminal(cls, stream: TextIO, total: int) -> ProgressBar | None:
        """A bar when `stream` is a terminal and the file is large enough to wait for."""
        return cls(stream, total) if stream.isatty() and total >= 1000 else None

    def __call__(self, done: int, total: int) -> None:
        share = min(done / self.total, 1.0)
        filled = int(share * self.WIDTH)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        self.stream.write(
            f"\rimport [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%} "
            f"{done}/{total} rows checked, {rate:,.0f} rows/s"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


TEMPLATE_EXAMPLE: list[list[str | None]] = [
    ["officer", "wang", "王丽", "杭州市", "officer", None, None, None, None, None, None],
    [
        "enterprise",
        "jg",
        "杭州精工机械有限公司",
        "杭州市",
        None,
        "wang",
        "91440300708461136T",
        None,
        None,
        None,
        None,
    ],
    ["commitment", None, None, None, None, None, None, "jg", "局方", "上门校准量具", "2027-03-31"],
    ["commitment", None, None, None, None, None, None, "jg", "企业", "建立追溯台账", "2027-04-30"],
    [
        "instrument",
        None,
        "压力表",
        *[None] * 4,
        "jg",
        *[None] * 9,
        "Y-100",
        "P-2026-001",
        None,
        "沈阳市计量测试院",
        "2026-06-01",
        "12个月",
        None,
    ],
]
TEMPLATE_NOTES = [
    ["列 column", "说明 meaning"],
    ["类型 type", "officer / enterprise / commitment"],
    ["引用 ref", "本文件后面各行引用的名字 a name later rows use"],
    ["名称 name", "人员或企业名称 the person's or enterprise's name"],
    ["城市 city", "城市，或 省局 the city, or 省局"],
    ["角色 role", "officer（默认）/ supervisor / admin"],
    ["责任人 officer", "上面的引用或已有人员编号 a ref above or an existing id"],
    ["信用代码 credit_code", "统一社会信用代码（可选，校验位检查）optional, check digits verified"],
    ["企业 enterprise", "上面的引用或已有企业编号 a ref above or an existing id"],
    ["承诺方 party", "局方 / 企业 (bureau / enterprise)"],
    ["内容 text", "承诺内容 the commitment"],
    ["截止日期 due", "YYYY-MM-DD 或 Excel 日期 or an Excel date"],
    [
        "行业代码/行业名称 industry",
        "企业行：GB/T 4754 行业代码和名称（可选）enterprise rows, optional",
    ],
    [
        "协议开始/协议结束/签署人 agreement",
        "企业行：协议期限与双方签署人（可选，开始与结束同时填写）enterprise rows, optional",
    ],
    [
        "instrument / certificate",
        "台账行：名称、型号、出厂编号、证书编号、检定机构、检定日期+检定周期或有效期至 "
        "register rows (README \"Registers\")",
    ],
    [
        "再次导入 re-import",
        "已有记录按信用代码（否则名称+城市）匹配，不会重复 "
        "existing records are matched, not duplicated",
    ],
]


def write_template(path: Path) -> None:
    """An import workbook with the columns, example rows, and a sheet explaining them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from handlers.usecases.bulk_import import TEMPLATE_COLUMNS

    if path.suffix.lower() != ".xlsx":
        raise ImportFileError(f"{path.name}: the template is an .xlsx file")
    book = Workbook()
    sheet = book.active
    sheet.title = "导入 import"
    sheet.append(TEMPLATE_COLUMNS)
    for row in TEMPLATE_EXAMPLE:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column, width in zip(
        "ABCDEFGHIJK", (12, 10, 24, 10, 10, 10, 22, 10, 8, 24, 12), strict=True
    ):
        sheet.column_dimensions[column].width = width
    notes = book.create_sheet("说明 notes")
    for note in TEMPLATE_NOTES:
        notes.append(note)
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["B"].width = 80
    try:
        book.save(path)
    except OSError as error:
        raise ImportFileError(f"{path.name}: {error.strerror}") from None
